#pragma once

#include <optional>
#include <string>

namespace kthw::runtime {

struct FileSpec {
  std::string path;
  std::string owner = "root";
  std::string group = "root";
  unsigned mode = 0644;
  // Run on the new content (its temp file is "$t") before it replaces the old one, e.g.
  // `haproxy -c -f "$t"`; when it fails nothing is replaced.
  std::string check;
};

// "0644": permission bits as chmod and people write them.
std::string formatMode(unsigned mode);

// Scripts for changing files on a host; each is one exec.
//
// atomicWriteScript: the content arrives on stdin. It goes to a temp file in the target's
// directory, which gets owner and mode, is checked against the expected size and sha256 (a cut
// connection ends stdin early: the partial temp file is never renamed), fsynced, and renamed
// over the target with rename(2). Temp files left by an earlier cut are removed first. With
// `ifCurrentSha256`, the rename happens only if the target still has that content (or is absent
// for ""), so a concurrent local edit is not overwritten blindly.
std::string atomicWriteScript(const FileSpec& file, const std::string& contentSha256,
                              size_t contentSize,
                              const std::optional<std::string>& ifCurrentSha256 = std::nullopt);
// Replaces the block between kBlockBegin and kBlockEnd of `path` with the block on stdin (which
// carries its own markers; empty removes the block) where it stands, keeping every other line in
// its order, and the owner and mode. A file without a block gets it appended.
std::string replaceBlockScript(const std::string& path, const std::string& blockSha256,
                               size_t blockSize, const std::optional<std::string>& ifCurrentSha256);
std::string removeFileScript(const std::string& path);
std::string ensureDirectoryScript(const FileSpec& dir);

// Exit status of atomicWriteScript when the content check or the precondition fails.
inline constexpr int kExitContentMismatch = 41;
inline constexpr int kExitPreconditionFailed = 42;
inline constexpr int kExitCheckFailed = 43;

}  // namespace kthw::runtime
