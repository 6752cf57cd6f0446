#include "reconcilers/binary_sources.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "runtime/digest.h"
#include "runtime/https_client.h"

namespace kthw::reconcilers {
namespace {

// Hashes a local binary by streaming it. The daemon loads the desired state's binaries on every
// pass; a file whose inode, size and modification time are unchanged is not hashed again.
StatusOr<BinarySource> readBinary(const std::filesystem::path& file) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::string, BinarySource>> cache;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return notFound(file.string());
  const std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                          std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
                          "." + std::to_string(st.st_mtim.tv_nsec);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(file.string());
    if (it != cache.end() && it->second.first == key) return it->second.second;
  }
  auto local = runtime::hashLocalFile(file.string());
  if (!local.ok()) return local.status();
  BinarySource src{local->sha256, *local};
  std::lock_guard<std::mutex> lock(mu);
  cache[file.string()] = {key, src};
  return src;
}

}  // namespace

StatusOr<std::map<std::string, BinarySource>> loadBinaries(const resources::DesiredState& state) {
  std::map<std::string, BinarySource> out;
  for (const resources::ControlPlaneService& s : state.services) {
    if (s.binary.file.empty()) continue;
    // A relative path is relative to the document that names it.
    std::filesystem::path file = s.binary.file;
    if (file.is_relative()) {
      file = std::filesystem::path(s.binary.mark.fileName()).parent_path() / file;
    }
    auto read = readBinary(file);
    if (!read.ok()) {
      return notFound("ControlPlaneService/" + s.name() + ": cannot read " + file.string() +
                      " (spec.binary.file)");
    }
    BinarySource src = *read;
    if (!s.binary.sha256.empty() && s.binary.sha256 != src.sha256) {
      return failedPrecondition("ControlPlaneService/" + s.name() + ": " + s.binary.file +
                                " has sha256 " + src.sha256 + ", the spec pins " + s.binary.sha256 +
                                "; nothing was pushed");
    }
    out[s.name()] = std::move(src);
  }
  return out;
}

namespace {

// GET with redirects followed (release URLs redirect to their storage).
StatusOr<runtime::HttpResponse> getFollowing(runtime::HttpsClient& client, std::string url,
                                             size_t maxBody) {
  for (int hop = 0; hop < 6; ++hop) {
    auto r = client.request("GET", url, "", "", std::chrono::minutes(10), maxBody);
    if (!r.ok()) return r.status();
    if (r->status < 300 || r->status >= 400 || r->location.empty()) {
      if (r->status != 200)
        return unavailable("GET " + url + ": HTTP " + std::to_string(r->status));
      return r;
    }
    if (r->location.starts_with("/")) {
      auto base = runtime::parseHttpsUrl(url);
      if (!base.ok()) return base.status();
      url = "https://" + base->host + ":" + base->port + r->location;
    } else {
      url = r->location;
    }
  }
  return unavailable("too many redirects from " + url);
}

std::string firstHexToken(const std::string& text) {
  const size_t start = text.find_first_of("0123456789abcdef");
  if (start == std::string::npos) return "";
  const std::string token =
      text.substr(start, text.find_first_not_of("0123456789abcdef", start) - start);
  return token.size() == 64 ? token : "";
}

}  // namespace

std::string defaultBinaryCacheDir() {
  const char* cache = std::getenv("XDG_CACHE_HOME");
  if (cache != nullptr && *cache != '\0') return std::string(cache) + "/kthw/binaries";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/kthw/binaries";
}

Status fetchBinaries(const resources::DesiredState& state, const std::string& cacheDir,
                     bool download, std::map<std::string, BinarySource>& binaries) {
  runtime::TlsClientConfig tls;
  tls.systemRoots = true;
  runtime::HttpsClient client(tls);
  for (const resources::ControlPlaneService& s : state.services) {
    if (s.binary.url.empty()) continue;
    const std::string who = "ControlPlaneService/" + s.name() + ": ";
    std::string want = s.binary.sha256;
    if (want.empty()) {
      auto sum = getFollowing(client, s.binary.sha256Url, 4096);
      if (!sum.ok()) return Status(sum.status().code(), who + sum.status().message());
      want = firstHexToken(sum->body);
      if (want.empty()) return failedPrecondition(who + s.binary.sha256Url + " holds no sha256");
    }
    BinarySource src{want, {}};
    if (download) {
      const std::string cached = cacheDir + "/" + want;
      auto have = runtime::hashLocalFile(cached);
      if (!have.ok() || have->sha256 != want) {
        auto body = getFollowing(client, s.binary.url, size_t{2} << 30);
        if (!body.ok()) return Status(body.status().code(), who + body.status().message());
        const std::string got = runtime::sha256Hex(body->body);
        if (got != want) {
          return failedPrecondition(who + s.binary.url + " has sha256 " + got + ", want " + want +
                                    "; nothing was pushed");
        }
        std::error_code ec;
        std::filesystem::create_directories(cacheDir, ec);
        const std::string tmp = cached + ".part";
        std::ofstream(tmp, std::ios::binary) << body->body;
        std::filesystem::rename(tmp, cached, ec);
        have = runtime::hashLocalFile(cached);
        if (!have.ok() || have->sha256 != want) {
          return unavailable(who + "cannot keep the download in " + cacheDir);
        }
      }
      src.local = *have;
    }
    binaries[s.name()] = std::move(src);
  }
  return okStatus();
}

}  // namespace kthw::reconcilers
