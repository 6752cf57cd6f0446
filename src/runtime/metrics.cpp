#include "runtime/metrics.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace kthw::runtime {
namespace {

std::string formatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

// Appends one label to a rendered label set ("{a="x"}" + le -> "{a="x",le="0.1"}").
std::string withLabel(const std::string& rendered, const std::string& name,
                      const std::string& value) {
  const std::string label = name + "=\"" + value + "\"";
  if (rendered.empty()) return "{" + label + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + label + "}";
}

}  // namespace

std::string renderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += "\"";
  }
  return out + "}";
}

void Metrics::declare(const std::string& name, Type type, const std::string& help,
                      std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  f.buckets = std::move(buckets);
}

Metrics::Family& Metrics::family(const std::string& name) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("metric " + name + " was not declared");
  return it->second;
}

void Metrics::add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name).values[renderLabels(labels)] += value;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name).values[renderLabels(labels)] = value;
}

void Metrics::reset(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name).values.clear();
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name);
  Histogram& h = f.histograms[renderLabels(labels)];
  h.counts.resize(f.buckets.size());
  for (size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) {
      ++h.counts[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto v = f->second.values.find(renderLabels(labels));
  return v == f->second.values.end() ? 0 : v->second;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter"
                       : f.type == Type::kGauge ? "gauge"
                                                : "histogram";
    out << "# HELP " << name << " " << f.help << "\n# TYPE " << name << " " << type << "\n";
    for (const auto& [labels, v] : f.values) out << name << labels << " " << formatValue(v) << "\n";
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += i < h.counts.size() ? h.counts[i] : 0;
        out << name << "_bucket" << withLabel(labels, "le", formatValue(f.buckets[i])) << " "
            << cumulative << "\n";
      }
      out << name << "_bucket" << withLabel(labels, "le", "+Inf") << " " << h.count << "\n";
      out << name << "_sum" << labels << " " << formatValue(h.sum) << "\n";
      out << name << "_count" << labels << " " << h.count << "\n";
    }
  }
  return out.str();
}

}  // namespace kthw::runtime
