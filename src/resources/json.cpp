#include "resources/json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace kthw::resources {
namespace {

void write(const Node& n, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (n.type) {
    case NodeType::kNull:
      w.Null();
      return;
    case NodeType::kSequence:
      w.StartArray();
      for (const Node& item : n.items) write(item, w);
      w.EndArray();
      return;
    case NodeType::kMapping:
      w.StartObject();
      for (const MapEntry& e : n.entries) {
        w.Key(e.key.c_str(), static_cast<rapidjson::SizeType>(e.key.size()));
        write(e.value, w);
      }
      w.EndObject();
      return;
    case NodeType::kScalar:
      break;
  }
  switch (n.scalarKind()) {
    case ScalarKind::kBool:
      w.Bool(n.boolean());
      return;
    case ScalarKind::kInt:
      if (auto v = n.integer()) {
        w.Int64(*v);
        return;
      }
      break;
    case ScalarKind::kNull:
      w.Null();
      return;
    default:
      break;
  }
  w.String(n.scalar.c_str(), static_cast<rapidjson::SizeType>(n.scalar.size()));
}

}  // namespace

std::string toJson(const Node& node) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  write(node, w);
  return buf.GetString();
}

}  // namespace kthw::resources
