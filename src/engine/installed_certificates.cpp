#include "engine/installed_certificates.h"

namespace kthw::engine {

std::map<std::string, reconcilers::InstalledFiles> fetchInstalledCertificates(
    const resources::DesiredState& state, const std::vector<std::string>& hosts,
    const HostOpsFactory& connect, size_t parallelism) {
  const std::vector<reconcilers::CertificateRead> reads =
      reconcilers::certificateReads(state, hosts);
  std::vector<reconcilers::InstalledFiles> results(reads.size());
  runParallel(reads.size(), parallelism, [&](size_t i) {
    auto files = connect(*reads[i].host)->fetch(reads[i].paths);
    if (files.ok()) {
      results[i].files = std::move(*files);
    } else {
      results[i].reach = files.status();
    }
  });
  std::map<std::string, reconcilers::InstalledFiles> out;
  for (size_t i = 0; i < reads.size(); ++i) out[reads[i].host->name()] = std::move(results[i]);
  return out;
}

}  // namespace kthw::engine
