#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kthw::runtime {

// A local file to send to a host by its content: read in chunks as it is sent, so a binary of
// hundreds of megabytes never sits in kthw's memory.
struct LocalFile {
  std::string path;
  std::string sha256;
  size_t size = 0;
};

// What an exec feeds on the command's standard input: bytes in memory, or a local file read one
// chunk at a time. Move-only (it may own a file descriptor).
class ExecInput {
 public:
  static ExecInput memory(std::string_view data);
  static StatusOr<ExecInput> file(const std::string& path);

  ExecInput(ExecInput&& other) noexcept;
  ExecInput& operator=(ExecInput&&) = delete;
  ExecInput(const ExecInput&) = delete;
  ~ExecInput();

  // The bytes not yet sent, or an empty view once everything was. For a file this reads the
  // next chunk when the previous one was consumed.
  StatusOr<std::string_view> pending();
  void consume(size_t n);
  bool empty() const { return size_ == 0; }

 private:
  ExecInput() = default;

  std::string_view memory_;
  size_t size_ = 0;
  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  size_t offset_ = 0;  // into memory_, or into buffer_
};

// sha256 and size of a local file, read in chunks.
StatusOr<LocalFile> hashLocalFile(const std::string& path);

}  // namespace kthw::runtime
