// The age header as text: stanzas written out, and a whole header parsed within bounds.
#include "runtime/age_header.h"

#include "runtime/age.h"

namespace kthw::runtime::age_header {
namespace {

constexpr size_t kBodyLineWidth = 64;
// A header names each recipient once; thousands are a file built to make decryption slow.
constexpr size_t kMaxStanzas = 1024;

}  // namespace

std::string formatStanza(const Stanza& s) {
  std::string out = "->";
  for (const std::string& a : s.args) out += " " + a;
  out += "\n";
  const std::string b64 = ageBase64Encode(s.body);
  // Full 64-column lines, then a shorter one, empty if need be: that is how a reader knows the
  // body ended.
  size_t i = 0;
  for (; i + kBodyLineWidth <= b64.size(); i += kBodyLineWidth) {
    out += b64.substr(i, kBodyLineWidth) + "\n";
  }
  out += b64.substr(i) + "\n";
  return out;
}

namespace {

// The next "\n"-terminated line from `pos`, without the newline; nothing at the end of the file.
std::optional<std::string_view> nextLine(std::string_view file, size_t& pos) {
  const size_t nl = file.find('\n', pos);
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = file.substr(pos, nl - pos);
  pos = nl + 1;
  return line;
}

bool isArgument(std::string_view a) {
  if (a.empty()) return false;
  for (char c : a) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

StatusOr<Stanza> parseStanza(std::string_view file, std::string_view first, size_t& pos) {
  Stanza s;
  std::string_view rest = first.substr(3);
  while (true) {
    const size_t sp = rest.find(' ');
    std::string_view a = rest.substr(0, sp);
    if (!isArgument(a)) return invalidArgument("malformed stanza line in the age header");
    s.args.emplace_back(a);
    if (sp == std::string_view::npos) break;
    rest = rest.substr(sp + 1);
  }
  std::string b64;
  while (true) {
    auto line = nextLine(file, pos);
    if (!line) return invalidArgument("the age header ends inside a stanza (truncated)");
    if (line->size() > kBodyLineWidth) {
      return invalidArgument("a stanza body line in the age header is longer than 64 columns");
    }
    b64 += *line;
    if (line->size() < kBodyLineWidth) break;
  }
  auto body = ageBase64Decode(b64);
  if (!body) return invalidArgument("a stanza body in the age header is not canonical base64");
  s.body = std::move(*body);
  return s;
}

}  // namespace

StatusOr<Header> parseHeader(std::string_view file) {
  size_t pos = 0;
  auto version = nextLine(file, pos);
  if (!version || *version != kVersionLine) {
    return invalidArgument("not an age file (no age-encryption.org/v1 header)");
  }
  Header h;
  while (true) {
    const size_t lineStart = pos;
    auto line = nextLine(file, pos);
    if (!line) return invalidArgument("the age header is truncated");
    if (line->starts_with("-> ")) {
      if (h.stanzas.size() == kMaxStanzas) {
        return invalidArgument("the age header has more than " + std::to_string(kMaxStanzas) +
                               " stanzas");
      }
      auto stanza = parseStanza(file, *line, pos);
      if (!stanza.ok()) return stanza.status();
      h.stanzas.push_back(std::move(*stanza));
      continue;
    }
    if (!line->starts_with("--- ")) return invalidArgument("malformed line in the age header");
    auto mac = ageBase64Decode(line->substr(4));
    if (!mac || mac->size() != 32) return invalidArgument("malformed header MAC in the age file");
    h.macInput = file.substr(0, lineStart + 3);
    h.mac = std::move(*mac);
    h.payloadOffset = pos;
    break;
  }
  if (h.stanzas.empty()) return invalidArgument("the age header has no recipient stanza");
  return h;
}

}  // namespace kthw::runtime::age_header
