#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kthw::runtime {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Counters, gauges and histograms in the Prometheus text exposition format (version 0.0.4).
// Thread-safe. A metric is declared once with its type and help; series are created on use.
class Metrics {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  void declare(const std::string& name, Type type, const std::string& help,
               std::vector<double> buckets = {});
  void add(const std::string& name, const Labels& labels, double value = 1);
  void set(const std::string& name, const Labels& labels, double value);
  // Drops every series of a gauge, before it is filled again from a fresh observation.
  void reset(const std::string& name);
  void observe(const std::string& name, const Labels& labels, double value);
  double value(const std::string& name, const Labels& labels) const;
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Type type = Type::kGauge;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, double> values;  // rendered label set -> value
    std::map<std::string, Histogram> histograms;
  };

  Family& family(const std::string& name);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// {a="x",b="y"} with values escaped as the format asks; empty for no labels.
std::string renderLabels(const Labels& labels);

}  // namespace kthw::runtime
