#include "resources/substitution.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <variant>

#include "resources/desired_state.h"
#include "resources/expression_parser.h"

namespace kthw::resources {
namespace {

std::string tooLarge(std::string_view what) {
  return std::string(what) + " expands to more than " + std::to_string(kMaxExpansionBytes) +
         " bytes";
}

struct Failure {
  size_t offset;  // into the text value
  std::string message;
  std::optional<MissingResource> missing;  // when it fails only for want of a resource
};

}  // namespace

// What does not depend on the host being rendered, computed once: host selections by selector,
// and joins (their value, or their failure) by expression and position.
struct SubstitutionCache {
  std::mutex mu;
  std::map<std::map<std::string, std::string>, std::vector<const Host*>> selections;
  std::map<std::pair<std::string, size_t>, std::variant<std::vector<std::string>, Failure>> joins;
};

namespace {

constexpr std::string_view kHostFields = "name, address, internalIP, hostname, labels.KEY";

// Start offsets of the "${" of each expression ("$${" is an escape, not an expression).
std::vector<size_t> expressionStarts(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = s.find("${"); i != std::string_view::npos; i = s.find("${", i + 2)) {
    if (i == 0 || s[i - 1] != '$') out.push_back(i);
  }
  return out;
}

// The file position of the value's character at `offset`. The value is the decoded scalar;
// quotes, escapes and block indentation shift it against the file, so the position is found
// from the same expression in the scalar as written.
Mark markAt(const Text& text, size_t offset) {
  Mark m = text.mark;
  const std::vector<size_t> inValue = expressionStarts(text.value);
  const std::vector<size_t> inRaw = expressionStarts(text.raw);
  size_t index = inValue.size();
  for (size_t i = 0; i < inValue.size() && inValue[i] <= offset; ++i) index = i;
  if (index >= inValue.size() || index >= inRaw.size()) return m;
  const std::string_view raw = text.raw;
  const size_t pos = std::min(inRaw[index] + (offset - inValue[index]), raw.size());
  const size_t lastNewline = pos == 0 ? std::string_view::npos : raw.rfind('\n', pos - 1);
  if (lastNewline == std::string_view::npos) {
    m.column += static_cast<int>(pos);
  } else {
    m.line += static_cast<int>(std::count(raw.begin(), raw.begin() + static_cast<long>(pos), '\n'));
    m.column = static_cast<int>(pos - lastNewline);
  }
  return m;
}

std::optional<std::string> hostField(const Host& h, std::string_view field) {
  if (field == "name") return h.name();
  if (field == "address") return h.address;
  if (field == "internalIP") return h.internalIP;
  if (field == "hostname") return h.hostname.empty() ? h.name() : h.hostname;
  if (field.starts_with("labels.")) {
    auto it = h.metadata.labels.find(std::string(field.substr(7)));
    if (it != h.metadata.labels.end()) return it->second;
  }
  return std::nullopt;
}

// The value of one expression: a single string, or a list for ${hosts(...).FIELD}.
struct Value {
  std::vector<std::string> items;
  bool list = false;
};

class Evaluator {
 public:
  Evaluator(const DesiredState& state, SubstitutionCache& cache, const Host* host)
      : state_(state), cache_(cache), host_(host) {}

  std::variant<Value, Failure> evaluate(std::string_view expr, size_t base) const {
    ExpressionParser p(expr, base);
    const size_t start = base - 2;  // errors about the whole expression point at its "${"
    const std::string_view head = p.identifier();
    if (head == "host") return hostExpression(p, start);
    if (head == "hosts") return hostsExpression(p, start);
    if (head == "join") return joinExpression(p, start, expr);
    if (head == "loadBalancer") return loadBalancerExpression(p, start);
    return Failure{start, "unknown substitution " + quoteValue(expr) +
                              "; expected host.FIELD, hosts(SELECTOR).FIELD, join(...) or "
                              "loadBalancer.NAME.address"};
  }

 private:
  std::variant<Value, Failure> hostExpression(ExpressionParser& p, size_t start) const {
    const std::string field(p.dottedRest());
    if (!p.done()) return Failure{p.offset(), "unexpected text after host." + field};
    if (host_ == nullptr) {
      return Failure{start,
                     "${host." + field +
                         "} needs a host; only ControlPlaneService fields are rendered per host"};
    }
    auto v = hostField(*host_, field);
    if (!v) {
      return Failure{start, "host has no field " + quoteValue(field) +
                                " (known: " + std::string(kHostFields) + ")"};
    }
    return Value{{*v}, false};
  }

  std::variant<std::vector<const Host*>, Failure> hostsCall(ExpressionParser& p) const {
    const size_t at = p.offset();
    if (!p.consume('(')) return Failure{at, "expected hosts(KEY=VALUE,...)"};
    auto sel = p.selector();
    if (!sel) return Failure{at, "bad selector; expected hosts(KEY=VALUE,...)"};
    std::vector<const Host*> hosts = select(*sel);
    if (hosts.empty()) {
      std::string text;
      for (const auto& [k, v] : *sel) text += (text.empty() ? "" : ",") + k + "=" + v;
      return Failure{at, "selector " + escapeValue(text) + " matches no Host",
                     MissingResource{"Host", ""}};
    }
    return hosts;
  }

  std::variant<Value, Failure> hostsExpression(ExpressionParser& p, size_t start) const {
    auto hosts = hostsCall(p);
    if (auto* f = std::get_if<Failure>(&hosts)) return *f;
    const std::string field(p.dottedRest());
    if (!p.done()) return Failure{p.offset(), "unexpected text after hosts(...)." + field};
    Value out{{}, true};
    for (const Host* h : std::get<std::vector<const Host*>>(hosts)) {
      auto v = hostField(*h, field);
      if (!v) {
        return Failure{start, "host has no field " + quoteValue(field) +
                                  " (known: " + std::string(kHostFields) + ")"};
      }
      out.items.push_back(*v);
    }
    return out;
  }

  std::vector<const Host*> select(const std::map<std::string, std::string>& selector) const {
    std::lock_guard<std::mutex> lock(cache_.mu);
    auto it = cache_.selections.find(selector);
    if (it == cache_.selections.end()) {
      HostTarget target;
      target.selector = selector;
      it = cache_.selections.emplace(selector, state_.select(target)).first;
    }
    return it->second;
  }

  // A join's value does not depend on the host being rendered: computed once per Substituter.
  std::variant<Value, Failure> joinExpression(ExpressionParser& p, size_t start,
                                              std::string_view expr) const {
    const std::pair<std::string, size_t> key{std::string(expr), start};
    {
      std::lock_guard<std::mutex> lock(cache_.mu);
      if (auto it = cache_.joins.find(key); it != cache_.joins.end()) {
        if (const auto* f = std::get_if<Failure>(&it->second)) return *f;
        return Value{std::get<std::vector<std::string>>(it->second), false};
      }
    }
    auto v = computeJoin(p, start);
    std::lock_guard<std::mutex> lock(cache_.mu);
    if (const auto* f = std::get_if<Failure>(&v)) {
      cache_.joins.emplace(key, *f);
    } else {
      cache_.joins.emplace(key, std::get<Value>(v).items);
    }
    return v;
  }

  std::variant<Value, Failure> computeJoin(ExpressionParser& p, size_t start) const {
    if (!p.consume('(') || p.identifier() != "hosts") {
      return Failure{start, "expected join(hosts(SELECTOR), 'TEMPLATE', 'SEPARATOR')"};
    }
    auto hosts = hostsCall(p);
    if (auto* f = std::get_if<Failure>(&hosts)) return *f;
    std::optional<std::string> tmpl;
    std::optional<std::string> sep;
    if (p.consume(',')) tmpl = p.quoted();
    if (tmpl && p.consume(',')) sep = p.quoted();
    if (!tmpl || !sep || !p.consume(')') || !p.done()) {
      return Failure{start, "expected join(hosts(SELECTOR), 'TEMPLATE', 'SEPARATOR')"};
    }
    const auto& selected = std::get<std::vector<const Host*>>(hosts);
    std::string joined;
    bool first = true;
    for (const Host* h : selected) {
      auto item = fillTemplate(*tmpl, *h, start);
      if (auto* f = std::get_if<Failure>(&item)) return *f;
      if (!first) joined += *sep;
      joined += std::get<std::string>(item);
      first = false;
      if (joined.size() > kMaxExpansionBytes) {
        return Failure{start,
                       tooLarge("join(...) over " + std::to_string(selected.size()) + " host(s)") +
                           "; select fewer hosts"};
      }
    }
    return Value{{joined}, false};
  }

  static std::variant<std::string, Failure> fillTemplate(const std::string& tmpl, const Host& h,
                                                         size_t at) {
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
      if (tmpl[i] != '{') {
        const size_t next = std::min(tmpl.find('{', i), tmpl.size());
        out.append(tmpl, i, next - i);
        i = next;
        continue;
      }
      const size_t close = tmpl.find('}', i);
      if (close == std::string::npos) return Failure{at, "unclosed { in join template"};
      const std::string field = tmpl.substr(i + 1, close - i - 1);
      auto v = hostField(h, field);
      if (!v) {
        return Failure{at, "join template field {" + escapeValue(field) +
                               "} is not a host field (known: " + std::string(kHostFields) + ")"};
      }
      out += *v;
      i = close + 1;
    }
    return out;
  }

  std::variant<Value, Failure> loadBalancerExpression(ExpressionParser& p, size_t start) const {
    const std::string rest(p.dottedRest());
    const size_t dot = rest.rfind('.');
    if (dot == std::string::npos || !p.done()) {
      return Failure{start, "expected loadBalancer.NAME.address or loadBalancer.NAME.port"};
    }
    const std::string name = rest.substr(0, dot);
    const std::string field = rest.substr(dot + 1);
    const LoadBalancer* lb = state_.findLoadBalancer(name);
    if (lb == nullptr) {
      return Failure{start, "no LoadBalancer named " + quoteValue(name),
                     MissingResource{"LoadBalancer", name}};
    }
    if (field == "address") return Value{{lb->frontendAddress}, false};
    if (field == "port") return Value{{std::to_string(lb->frontendPort)}, false};
    return Failure{start,
                   "LoadBalancer has no field " + quoteValue(field) + " (known: address, port)"};
  }

  const DesiredState& state_;
  SubstitutionCache& cache_;
  const Host* host_;
};

// Walks the ${...} pieces of a text; `onLiteral` and `onExpression` receive them in order.
template <typename Literal, typename Expr>
std::optional<Failure> scan(const std::string& s, Literal onLiteral, Expr onExpression) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t open = s.find('$', i);
    if (open == std::string::npos) {
      onLiteral(std::string_view(s).substr(i));
      return std::nullopt;
    }
    onLiteral(std::string_view(s).substr(i, open - i));
    if (s.compare(open, 3, "$${") == 0) {
      onLiteral("${");
      i = open + 3;
      continue;
    }
    if (s.compare(open, 2, "${") != 0) {
      onLiteral("$");
      i = open + 1;
      continue;
    }
    // The closing brace is the first one outside a '...' template.
    size_t close = open + 2;
    for (bool inQuote = false; close < s.size() && (inQuote || s[close] != '}'); ++close) {
      if (s[close] == '\'') inQuote = !inQuote;
    }
    if (close >= s.size()) return Failure{open, "unclosed ${ (no matching })"};
    if (auto f = onExpression(std::string_view(s).substr(open + 2, close - open - 2), open)) {
      return f;
    }
    i = close + 1;
  }
  return std::nullopt;
}

void report(const Text& text, const Failure& f, Diagnostics& out) {
  out.push_back(Diagnostic{markAt(text, f.offset), text.path, f.message, f.missing});
}

}  // namespace

Substituter::Substituter(const DesiredState& state)
    : state_(state), cache_(std::make_shared<SubstitutionCache>()) {}

std::vector<std::string> Substituter::resolveAll(const std::vector<Text>& items, const Host* host,
                                                 Diagnostics& out) const {
  std::vector<std::string> all;
  for (const Text& t : items) {
    if (auto v = resolveList(t, host, out)) all.insert(all.end(), v->begin(), v->end());
  }
  return all;
}

bool Substituter::hasSubstitution(const std::string& value) {
  return value.find("${") != std::string::npos;
}

std::optional<std::string> Substituter::resolve(const Text& text, const Host* host,
                                                Diagnostics& out) const {
  if (!hasSubstitution(text.value)) return text.value;
  Evaluator eval(state_, *cache_, host);
  std::string result;
  auto failure = scan(
      text.value, [&](std::string_view lit) { result += lit; },
      [&](std::string_view expr, size_t at) -> std::optional<Failure> {
        auto v = eval.evaluate(expr, at + 2);
        if (auto* f = std::get_if<Failure>(&v)) return *f;
        const Value& value = std::get<Value>(v);
        if (value.list) {
          return Failure{at, "${" + escapeValue(expr) +
                                 "} is a list; use it as a whole list item or inside join()"};
        }
        result += value.items.front();
        if (result.size() > text.value.size() + kMaxExpansionBytes) {
          return Failure{at, tooLarge("this value's substitution")};
        }
        return std::nullopt;
      });
  if (failure) {
    report(text, *failure, out);
    return std::nullopt;
  }
  return result;
}

std::optional<std::vector<std::string>> Substituter::resolveList(const Text& text, const Host* host,
                                                                 Diagnostics& out) const {
  const std::string& s = text.value;
  if (s.starts_with("${hosts(") && s.ends_with("}") && s.find("${", 2) == std::string::npos) {
    Evaluator eval(state_, *cache_, host);
    auto v = eval.evaluate(std::string_view(s).substr(2, s.size() - 3), 2);
    if (auto* f = std::get_if<Failure>(&v)) {
      report(text, *f, out);
      return std::nullopt;
    }
    return std::get<Value>(v).items;
  }
  auto single = resolve(text, host, out);
  if (!single) return std::nullopt;
  return std::vector<std::string>{*single};
}

}  // namespace kthw::resources
