#include "runtime/exec_input.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "runtime/digest.h"

namespace kthw::runtime {
namespace {

constexpr size_t kChunk = size_t{1} << 20;

Status readError(const std::string& path) {
  return unavailable("cannot read " + path + ": " + std::strerror(errno));
}

}  // namespace

ExecInput ExecInput::memory(std::string_view data) {
  ExecInput in;
  in.memory_ = data;
  in.size_ = data.size();
  return in;
}

StatusOr<ExecInput> ExecInput::file(const std::string& path) {
  ExecInput in;
  in.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd_ < 0) return readError(path);
  struct stat st {};
  if (::fstat(in.fd_, &st) != 0) return readError(path);
  in.size_ = static_cast<size_t>(st.st_size);
  in.path_ = path;
  return in;
}

ExecInput::ExecInput(ExecInput&& other) noexcept
    : memory_(other.memory_),
      size_(other.size_),
      fd_(other.fd_),
      path_(std::move(other.path_)),
      buffer_(std::move(other.buffer_)),
      offset_(other.offset_) {
  other.fd_ = -1;
}

ExecInput::~ExecInput() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::string_view> ExecInput::pending() {
  if (fd_ < 0) return memory_.substr(std::min(offset_, memory_.size()));
  if (offset_ < buffer_.size()) return std::string_view(buffer_).substr(offset_);
  buffer_.resize(kChunk);
  ssize_t n = 0;
  do {
    n = ::read(fd_, buffer_.data(), buffer_.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return readError(path_);
  buffer_.resize(static_cast<size_t>(n));
  offset_ = 0;
  return std::string_view(buffer_);
}

void ExecInput::consume(size_t n) { offset_ += n; }

StatusOr<LocalFile> hashLocalFile(const std::string& path) {
  auto in = ExecInput::file(path);
  if (!in.ok()) return in.status();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  size_t size = 0;
  while (true) {
    auto chunk = in->pending();
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) break;
    EVP_DigestUpdate(ctx.get(), chunk->data(), chunk->size());
    size += chunk->size();
    in->consume(chunk->size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return LocalFile{path, hexBytes(digest, len), size};
}

}  // namespace kthw::runtime
