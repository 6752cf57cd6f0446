// Reading the desired state from paths: files, directories below them, and standard input.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "resources/yaml_parse.h"

namespace kthw::resources {
namespace {

namespace fs = std::filesystem;

// Reads at most one byte past the limit, so an oversized input is reported, not slurped.
std::string readBounded(std::istream& in, size_t limit) {
  std::string text;
  char chunk[65536];
  while (text.size() <= limit && in.read(chunk, sizeof chunk).gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (text.size() > limit + 1) text.resize(limit + 1);
  return text;
}

bool isYamlFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

LoadResult loadPaths(const std::vector<std::string>& paths, std::istream& standardInput,
                     const LoadLimits& limits) {
  LoadResult result;
  // Errors about a path as a whole carry no line ("PATH: message"); whatever documents the path
  // holds are lost to the checks.
  auto pathError = [&](const std::string& name, std::string message) {
    const Mark at{std::make_shared<const std::string>(name), 0, 0};
    result.errors.push_back(Diagnostic{at, "", std::move(message)});
    result.unread.push_back(UnreadDocuments{at, {}, true});
  };
  struct Source {
    std::string path;
    bool directory = false;
    std::vector<std::string> files;
  };
  std::vector<Source> sources;
  size_t fileCount = 0;
  for (const std::string& p : paths) {
    if (p == "-") {
      sources.push_back({p, false, {p}});
      ++fileCount;
      continue;
    }
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      pathError(p, "no such file or directory");
      continue;
    }
    if (!fs::is_directory(st)) {
      sources.push_back({p, false, {p}});
      ++fileCount;
      continue;
    }
    Source dir{p, true, {}};
    for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file(ec) && isYamlFile(it->path()))
        dir.files.push_back(it->path().string());
      if (dir.files.size() > limits.maxFiles) break;
    }
    if (ec) pathError(p, "cannot list directory: " + ec.message());
    std::sort(dir.files.begin(), dir.files.end());
    fileCount += dir.files.size();
    sources.push_back(std::move(dir));
  }
  if (fileCount > limits.maxFiles) {
    pathError(paths.empty() ? "<input>" : paths.front(),
              "more than " + std::to_string(limits.maxFiles) + " files");
    return result;
  }
  size_t total = 0;
  for (const Source& source : sources) {
    const size_t documentsBefore = result.documents.size();
    const size_t errorsBefore = result.errors.size() + result.omittedErrors;
    for (const std::string& name : source.files) {
      std::string text;
      if (name == "-") {
        text = readBounded(standardInput, limits.maxFileBytes);
      } else {
        std::ifstream in(name, std::ios::binary);
        if (!in) {
          pathError(name, "cannot read file");
          continue;
        }
        text = readBounded(in, limits.maxFileBytes);
      }
      total += text.size();
      if (total > limits.maxTotalBytes) {
        pathError(name, "input larger than " + std::to_string(limits.maxTotalBytes) + " bytes");
        return result;
      }
      parseInto(text, name == "-" ? "<stdin>" : name, limits, result);
    }
    // A path that yields nothing is a mistake (a wrong directory, an empty file), not an empty
    // desired state; a path whose files failed to load has said why already.
    if (result.documents.size() != documentsBefore ||
        result.errors.size() + result.omittedErrors != errorsBefore) {
      continue;
    }
    if (!source.directory) {
      pathError(source.path == "-" ? "<stdin>" : source.path, "no kthw documents in it");
    } else if (source.files.empty()) {
      pathError(source.path, "no kthw documents: no *.yaml or *.yml file below this directory");
    } else {
      pathError(source.path, "no kthw documents: the " + std::to_string(source.files.size()) +
                                 " YAML file(s) below this directory hold none");
    }
  }
  return result;
}

}  // namespace kthw::resources