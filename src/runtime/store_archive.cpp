#include "runtime/store_archive.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "runtime/atomic_file.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "kthw-store-archive v1\n";

std::string errnoText() { return std::strerror(errno); }

bool validPath(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  if (path.find('\0') != std::string_view::npos || path.find('\n') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return path != ".lock";
}

// A strict reader over the archive: every expectation that fails names what was expected.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool literal(std::string_view s) {
    if (!text_.substr(pos_).starts_with(s)) return false;
    pos_ += s.size();
    return true;
  }
  // Up to (not including) the next '\n', which is consumed.
  std::optional<std::string_view> line() {
    const size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view l = text_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return l;
  }
  std::optional<std::string_view> bytes(size_t n) {
    if (text_.size() - pos_ < n) return std::nullopt;
    std::string_view b = text_.substr(pos_, n);
    pos_ += n;
    return b;
  }
  bool atEnd() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::optional<size_t> parseNumber(std::string_view s, int base, size_t maxDigits) {
  if (s.empty() || s.size() > maxDigits || (s.size() > 1 && s[0] == '0' && base == 10)) {
    return std::nullopt;
  }
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > (base == 8 ? '7' : '9')) return std::nullopt;
    v = v * static_cast<size_t>(base) + static_cast<size_t>(c - '0');
  }
  return v;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= line.size()) {
    const size_t sp = std::min(line.find(' ', start), line.size());
    out.push_back(line.substr(start, sp - start));
    start = sp + 1;
  }
  return out;
}

Status malformed(std::string_view what) {
  return invalidArgument("not a kthw store archive: " + std::string(what));
}

StatusOr<StoreFile> readEntry(Reader& r, std::string_view header) {
  const auto w = words(header);
  if (w.size() != 4 || w[0] != "file") return malformed("expected a file line or end");
  const auto mode = parseNumber(w[1], 8, 4);
  const auto pathSize = parseNumber(w[2], 10, 4);
  const auto contentSize = parseNumber(w[3], 10, 10);
  if (!mode || *mode > 0777 || !pathSize || !contentSize) {
    return malformed("bad file line");
  }
  const auto path = r.bytes(*pathSize);
  if (!path || !r.literal("\n")) return malformed("truncated file path");
  if (!validPath(*path)) {
    return malformed("unsafe path in the archive (absolute, with . or .., or a NUL)");
  }
  const auto content = r.bytes(*contentSize);
  if (!content || !r.literal("\n")) return malformed("truncated content of " + std::string(*path));
  return StoreFile{std::string(*path), static_cast<unsigned>(*mode), std::string(*content)};
}

Status fsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return permissionDenied("cannot open " + path + ": " + errnoText());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return unavailable("cannot fsync " + path + ": " + errnoText());
  return okStatus();
}

using Step = StoreReplaceFaultsForTesting::Step;

void crashIfAt(const StoreReplaceFaultsForTesting& faults, Step step) {
  if (faults.crashAt == step) ::_exit(kStoreReplaceCrashExitForTesting);
}

Status writeTree(const std::string& root, const StoreArchive& archive,
                 const StoreReplaceFaultsForTesting& faults) {
  if (::mkdir(root.c_str(), 0700) != 0) {
    return permissionDenied("cannot create " + root + ": " + errnoText());
  }
  std::set<std::string> dirs = {root};
  size_t written = 0;
  for (const StoreFile& f : archive.files) {
    const fs::path path = fs::path(root) / f.path;
    for (fs::path d = path.parent_path(); dirs.insert(d.string()).second; d = d.parent_path()) {
      std::error_code ec;
      fs::create_directories(d, ec);
      if (ec) return permissionDenied("cannot create " + d.string() + ": " + ec.message());
      ::chmod(d.c_str(), 0700);
    }
    if (Status s = writeFileAtomically(path.string(), f.content, f.mode & 0777); !s.ok()) return s;
    ::chmod(path.c_str(), f.mode & 0777);
    if (++written == faults.filesWritten) crashIfAt(faults, Step::kNewFilesWritten);
  }
  // Every directory's entries on disk before the exchange makes the tree visible.
  for (const std::string& d : dirs) {
    if (Status s = fsyncPath(d, O_RDONLY | O_DIRECTORY); !s.ok()) return s;
  }
  return okStatus();
}

}  // namespace

std::string encodeStoreArchive(const StoreArchive& archive) {
  std::string out(kMagic);
  out += "cluster " + archive.clusterName + "\n";
  char mode[8];
  for (const StoreFile& f : archive.files) {
    std::snprintf(mode, sizeof mode, "%04o", f.mode & 0777);
    out += "file " + std::string(mode) + " " + std::to_string(f.path.size()) + " " +
           std::to_string(f.content.size()) + "\n" + f.path + "\n" + f.content + "\n";
  }
  out += "end " + std::to_string(archive.files.size()) + "\n";
  return out;
}

StatusOr<StoreArchive> decodeStoreArchive(std::string_view text) {
  Reader r(text);
  if (!r.literal(kMagic)) return malformed("no kthw-store-archive v1 line");
  StoreArchive archive;
  const auto cluster = r.line();
  if (!cluster || !cluster->starts_with("cluster ") || cluster->size() == 8) {
    return malformed("no cluster line");
  }
  archive.clusterName = std::string(cluster->substr(8));
  std::set<std::string> seen;
  while (true) {
    const auto header = r.line();
    if (!header) return malformed("truncated: no end line");
    if (header->starts_with("end ")) {
      const auto count = parseNumber(header->substr(4), 10, 10);
      if (!count || *count != archive.files.size()) return malformed("wrong file count at end");
      break;
    }
    auto file = readEntry(r, *header);
    if (!file.ok()) return file.status();
    if (!seen.insert(file->path).second) return malformed("a path appears twice");
    archive.files.push_back(std::move(*file));
  }
  if (!r.atEnd()) return malformed("data after the end line");
  return archive;
}

StatusOr<StoreArchive> readStoreFiles(const std::string& dir, const std::string& clusterName) {
  StoreArchive archive{clusterName, {}};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = it->path().lexically_relative(dir);
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) continue;
    if (rel == ".lock") continue;
    if (!fs::is_regular_file(st)) {
      return failedPrecondition(it->path().string() +
                                " is not a regular file; a secret store holds only files");
    }
    auto content = readLocalFile(it->path().string());
    if (!content.ok()) return content.status();
    archive.files.push_back({rel.generic_string(), static_cast<unsigned>(st.permissions()) & 0777u,
                             std::move(*content)});
  }
  if (ec) return permissionDenied("cannot read secret store " + dir + ": " + ec.message());
  std::sort(archive.files.begin(), archive.files.end(),
            [](const StoreFile& a, const StoreFile& b) { return a.path < b.path; });
  return archive;
}

StatusOr<bool> storeHoldsFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_directory(ec) && it->path().lexically_relative(dir) != ".lock") return true;
  }
  if (ec) return permissionDenied("cannot read secret store " + dir + ": " + ec.message());
  return false;
}

Status replaceStoreDirectory(const std::string& dir, const StoreArchive& archive) {
  return replaceStoreDirectoryForTesting(dir, archive, {});
}

Status replaceStoreDirectoryForTesting(const std::string& dir, const StoreArchive& archive,
                                       const StoreReplaceFaultsForTesting& faults) {
  // The directory itself, not a symlink to it: exchanging a symlink would move the link and
  // leave the keys behind at its target.
  std::error_code canon;
  fs::path target = fs::weakly_canonical(fs::absolute(dir), canon);
  if (canon) target = fs::absolute(dir).lexically_normal();
  const fs::path parent = target.parent_path();
  const std::string prefix = "." + target.filename().string() + ".restore-";
  const std::string staged = (parent / (prefix + std::to_string(::getpid()))).string();
  std::error_code ec;
  // What a restore that crashed left beside the store: the old store after the exchange, or a
  // part of the new one before it. The caller holds the store's lock, so no restore is using it.
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    if (e.path().filename().string().starts_with(prefix)) fs::remove_all(e.path(), ec);
  }
  fs::remove_all(staged, ec);
  if (Status s = writeTree(staged, archive, faults); !s.ok()) {
    fs::remove_all(staged, ec);
    return s;
  }
  // The store's lock is flock(2) on <dir>/.lock, held by the caller. The new directory gets the
  // same inode under the same name, so the lock is still held after the exchange: a kthw process
  // that opens the store meanwhile waits for this one, as it would have before.
  const fs::path lock = target / ".lock";
  if (::link(lock.c_str(), (fs::path(staged) / ".lock").c_str()) != 0 && errno != ENOENT) {
    Status s = unavailable("cannot carry the lock " + lock.string() + " over: " + errnoText() +
                           "; the store is unchanged");
    fs::remove_all(staged, ec);
    return s;
  }
  crashIfAt(faults, Step::kNewDirectoryComplete);
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    Status s = unavailable("cannot exchange " + staged + " with " + target.string() + ": " +
                           errnoText() + "; the store is unchanged");
    fs::remove_all(staged, ec);
    return s;
  }
  if (Status s = fsyncPath(parent.string(), O_RDONLY | O_DIRECTORY); !s.ok()) return s;
  // `staged` now holds the old store; the new one is in place whatever happens to it.
  crashIfAt(faults, Step::kExchanged);
  fs::remove_all(staged, ec);
  return okStatus();
}

}  // namespace kthw::runtime
