#include "cli/verify_checks.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <iomanip>

namespace kthw::cli::verify {

const char* resultName(Result r) {
  switch (r) {
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kSkip:
      return "skip";
  }
  return "fail";
}

std::optional<rapidjson::Document> parseJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  return d;
}

std::string jsonString(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

void printTable(const std::vector<Check>& checks, std::ostream& out) {
  size_t nameWidth = 5;
  size_t targetWidth = 6;
  for (const Check& c : checks) {
    nameWidth = std::max(nameWidth, c.name.size());
    targetWidth = std::max(targetWidth, c.target.size());
  }
  out << std::left << std::setw(static_cast<int>(nameWidth) + 2) << "CHECK"
      << std::setw(static_cast<int>(targetWidth) + 2) << "TARGET" << std::setw(8) << "RESULT"
      << "DETAIL\n";
  for (const Check& c : checks) {
    out << std::left << std::setw(static_cast<int>(nameWidth) + 2) << c.name
        << std::setw(static_cast<int>(targetWidth) + 2) << c.target << std::setw(8)
        << resultName(c.result) << c.detail << "\n";
  }
}

void printJson(const std::vector<Check>& checks, std::ostream& out) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  size_t failed = 0;
  w.StartObject();
  w.Key("checks");
  w.StartArray();
  for (const Check& c : checks) {
    if (c.result == Result::kFail) ++failed;
    w.StartObject();
    w.Key("check");
    w.String(c.name.c_str());
    w.Key("target");
    w.String(c.target.c_str());
    w.Key("result");
    w.String(resultName(c.result));
    w.Key("detail");
    w.String(c.detail.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.Key("failed");
  w.Uint64(failed);
  w.EndObject();
  out << buf.GetString() << "\n";
}

}  // namespace kthw::cli::verify
