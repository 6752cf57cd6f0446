#include "reconcilers/file_sync.h"

#include "runtime/digest.h"

namespace kthw::reconcilers {

std::string fileDrift(const runtime::FileState& st, const runtime::FileSpec& spec,
                      const std::string& sha256, std::string_view differs) {
  if (st.type == runtime::FileType::kAbsent) return "absent";
  if (st.type != runtime::FileType::kFile || st.sha256 != sha256) return std::string(differs);
  if (st.owner != spec.owner || st.group != spec.group || st.mode != spec.mode) {
    return "owner or mode " + st.owner + ":" + st.group + " " + runtime::formatMode(st.mode);
  }
  return "";
}

bool syncFile(const std::string& resource, const runtime::FileSpec& spec,
              const std::string& content, const runtime::ProbeResult& observed, HostPlan& plan,
              std::string_view differs, bool showDiff) {
  const runtime::FileState& st = observed.file(spec.path);
  const std::string sha256 = runtime::sha256Hex(content);
  std::string reason = fileDrift(st, spec, sha256, differs);
  if (reason.empty()) return false;
  const bool absent = st.type == runtime::FileType::kAbsent;
  Action a = makeAction(ActionType::kWriteFile, resource, spec.path, "write " + spec.path,
                        std::move(reason));
  a.file = spec;
  a.content = content;
  a.ifCurrentSha256 = absent ? "" : st.sha256;
  a.showContentDiff = showDiff && st.type == runtime::FileType::kFile && st.sha256 != sha256;
  plan.actions.push_back(std::move(a));
  return true;
}

}  // namespace kthw::reconcilers
