#include "engine/binary_sources.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "runtime/digest.h"
#include "runtime/https_client.h"

namespace kthw::engine {
namespace {

// Local binaries' hashes, kept across runs in a file beside the binary cache and keyed by
// device, inode, size, mtime and ctime (ns): a cold `kthw diff` hashes the lab's 300 MB of
// binaries once, not on every run, and the daemon not on every pass. A file rewritten in place
// moves its ctime, which user space cannot set back.
class LocalHashCache {
 public:
  static LocalHashCache& instance() {
    static LocalHashCache cache;
    return cache;
  }

  StatusOr<reconcilers::BinarySource> read(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return notFound(file.string());
    const std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                            std::to_string(st.st_size) + ":" + timeKey(st.st_mtim) + ":" +
                            timeKey(st.st_ctim);
    std::lock_guard<std::mutex> lock(mu_);
    if (!loaded_) load();
    auto it = entries_.find(file.string());
    if (it != entries_.end() && it->second.first == key) return it->second.second;
    auto local = runtime::hashLocalFile(file.string());
    if (!local.ok()) return local.status();
    reconcilers::BinarySource src{local->sha256, *local};
    entries_[file.string()] = {key, src};
    save();
    return src;
  }

 private:
  static std::string timeKey(const timespec& t) {
    return std::to_string(t.tv_sec) + "." + std::to_string(t.tv_nsec);
  }
  static std::string path() {
    return (std::filesystem::path(defaultBinaryCacheDir()).parent_path() / "local-hashes").string();
  }

  // "KEY\tSHA256\tSIZE\tPATH" per line; a line that does not parse is dropped.
  void load() {
    loaded_ = true;
    std::ifstream in(path());
    std::string line;
    while (std::getline(in, line)) {
      const size_t a = line.find('\t');
      const size_t b = line.find('\t', a + 1);
      const size_t c = line.find('\t', b + 1);
      if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
      const std::string file = line.substr(c + 1);
      reconcilers::BinarySource src{
          line.substr(a + 1, b - a - 1),
          {file, line.substr(a + 1, b - a - 1),
           static_cast<size_t>(std::strtoull(line.c_str() + b + 1, nullptr, 10))}};
      entries_[file] = {line.substr(0, a), src};
    }
  }

  // Written whole and renamed into place; a cache that cannot be written only costs a rehash.
  void save() {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path()).parent_path(), ec);
    const std::string tmp = path() + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      for (const auto& [file, entry] : entries_) {
        if (file.find('\n') != std::string::npos) continue;
        out << entry.first << '\t' << entry.second.sha256 << '\t' << entry.second.local.size << '\t'
            << file << '\n';
      }
      if (!out) return;
    }
    std::filesystem::rename(tmp, path(), ec);
    if (ec) std::filesystem::remove(tmp, ec);
  }

  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::string, std::pair<std::string, reconcilers::BinarySource>> entries_;
};

StatusOr<reconcilers::BinarySource> readBinary(const std::filesystem::path& file) {
  return LocalHashCache::instance().read(file);
}

}  // namespace

StatusOr<std::map<std::string, reconcilers::BinarySource>> loadBinaries(
    const resources::DesiredState& state) {
  std::map<std::string, reconcilers::BinarySource> out;
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
    reconcilers::BinarySource src = *read;
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
                     bool download, std::map<std::string, reconcilers::BinarySource>& binaries) {
  // Made for the first URL only: loading the system roots costs tens of ms, on every daemon pass.
  std::optional<runtime::HttpsClient> https;
  auto clientFor = [&]() -> runtime::HttpsClient& {
    if (!https) {
      runtime::TlsClientConfig tls;
      tls.systemRoots = true;
      https.emplace(tls);
    }
    return *https;
  };
  for (const resources::ControlPlaneService& s : state.services) {
    if (s.binary.url.empty()) continue;
    runtime::HttpsClient& client = clientFor();
    const std::string who = "ControlPlaneService/" + s.name() + ": ";
    std::string want = s.binary.sha256;
    if (want.empty()) {
      auto sum = getFollowing(client, s.binary.sha256Url, 4096);
      if (!sum.ok()) return Status(sum.status().code(), who + sum.status().message());
      want = firstHexToken(sum->body);
      if (want.empty()) return failedPrecondition(who + s.binary.sha256Url + " holds no sha256");
    }
    reconcilers::BinarySource src{want, {}};
    if (download) {
      const std::string cached = cacheDir + "/" + want;
      auto have = readBinary(cached);
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
        have = readBinary(cached);
        if (!have.ok() || have->sha256 != want) {
          return unavailable(who + "cannot keep the download in " + cacheDir);
        }
      }
      src.local = have->local;
    }
    binaries[s.name()] = std::move(src);
  }
  return okStatus();
}

}  // namespace kthw::engine
