#include "reconcilers/certificate_inventory.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "reconcilers/bundle_material.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;

bool selected(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

std::vector<const resources::Host*> sortedHosts(const resources::DesiredState& state,
                                                const std::vector<std::string>& filter) {
  std::vector<const resources::Host*> out;
  for (const resources::Host& h : state.hosts) {
    if (selected(filter, h.name())) out.push_back(&h);
  }
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  return out;
}

// "30d", "36h" or "90m": how a renew-before window is shown.
std::string window(std::chrono::seconds s) {
  const int64_t n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

std::string healthText(const CertificateEntry& e, const runtime::CertificateCheck& c) {
  switch (c.health) {
    case runtime::CertificateHealth::kValid:
      return "valid";
    case runtime::CertificateHealth::kRenewDue:
      return "renew-due (expires within " + window(e.renewBefore) + ")";
    case runtime::CertificateHealth::kExpired:
      return "expired";
    case runtime::CertificateHealth::kNotYetValid:
      return "not yet valid";
    case runtime::CertificateHealth::kUntrusted:
      return "untrusted: does not chain to authority " + e.authorityName + " (" +
             c.chain.message() + ")";
  }
  return "unknown";
}

class Builder {
 public:
  Builder(const resources::DesiredState& state, const StoredCertificates& stored,
          const std::map<std::string, InstalledFiles>& installed,
          const std::vector<std::string>& hosts, Clock::time_point now)
      : state_(state),
        stored_(stored),
        installed_(installed),
        hosts_(sortedHosts(state, hosts)),
        filtered_(!hosts.empty()),
        now_(now) {}

  CertificateInventory run() {
    CertificateInventory inventory;
    inventory.now = now_;
    for (const resources::CertificateBundle& b : state_.bundles) {
      for (const resources::Authority& a : b.authorities) {
        add(b, a.name, true, a.name, kAuthorityRenewBefore, inventory);
      }
      for (const resources::Certificate& c : b.certificates) {
        add(b, c.name, false, c.issuer, c.renewBefore, inventory);
      }
    }
    for (const auto& [host, files] : installed_) inventory.hosts[host] = files.reach;
    return inventory;
  }

 private:
  const std::string* storedPem(const resources::CertificateBundle& b,
                               const std::string& name) const {
    auto bundle = stored_.find(b.name());
    if (bundle == stored_.end()) return nullptr;
    auto pem = bundle->second.find(name);
    return pem == bundle->second.end() ? nullptr : &pem->second;
  }

  void add(const resources::CertificateBundle& b, const std::string& name, bool authority,
           const std::string& authorityName, std::chrono::seconds renewBefore,
           CertificateInventory& inventory) const {
    CertificateEntry e{b.name(), name, authority, authorityName, renewBefore, {}, {}, {}};
    const std::string* authorityPem = storedPem(b, authorityName);
    const std::string& trusted = authorityPem != nullptr ? *authorityPem : kNone;
    if (const std::string* pem = storedPem(b, name)) {
      auto check = runtime::checkCertificate(*pem, trusted, renewBefore, now_);
      if (check.ok()) {
        e.stored = std::move(*check);
      } else {
        e.storeMessage = "unreadable in the secret store: " + check.status().message();
      }
    } else {
      e.storeMessage = "not issued (run kthw apply first)";
    }
    for (const resources::Host* h : hosts_) {
      for (const resources::BundleFile& f : b.files) {
        if (f.kind != resources::ContentKind::kCertificate || f.source != name ||
            !state_.selects(f.hosts, *h)) {
          continue;
        }
        e.copies.push_back(copy(*h, f.path, e, trusted));
      }
    }
    if (filtered_ && e.copies.empty()) return;
    inventory.entries.push_back(std::move(e));
  }

  InstalledCopy copy(const resources::Host& h, const std::string& path, const CertificateEntry& e,
                     const std::string& trusted) const {
    InstalledCopy c{h.name(), path, CopyState::kAbsent, std::nullopt, ""};
    auto host = installed_.find(h.name());
    if (host == installed_.end()) {
      c.state = CopyState::kUnreachable;
      c.message = "not read";
      return c;
    }
    if (!host->second.reach.ok()) {
      c.state = CopyState::kUnreachable;
      c.message = host->second.reach.message();
      return c;
    }
    auto file = host->second.files.find(path);
    if (file == host->second.files.end()) return c;
    auto check = runtime::checkCertificate(file->second, trusted, e.renewBefore, now_);
    if (!check.ok()) {
      c.state = CopyState::kUnreadable;
      c.message = check.status().message();
      return c;
    }
    const bool same = e.stored && e.stored->info.sha256Fingerprint == check->info.sha256Fingerprint;
    c.state = same ? CopyState::kSame : CopyState::kDiffers;
    c.check = std::move(*check);
    return c;
  }

  static inline const std::string kNone;
  const resources::DesiredState& state_;
  const StoredCertificates& stored_;
  const std::map<std::string, InstalledFiles>& installed_;
  const std::vector<const resources::Host*> hosts_;
  const bool filtered_;
  const Clock::time_point now_;
};

}  // namespace

std::string_view copyStateName(CopyState s) {
  switch (s) {
    case CopyState::kSame:
      return "same";
    case CopyState::kDiffers:
      return "differs";
    case CopyState::kAbsent:
      return "absent";
    case CopyState::kUnreadable:
      return "unreadable";
    case CopyState::kUnreachable:
      return "unreachable";
  }
  return "unknown";
}

bool InstalledCopy::finding() const {
  switch (state) {
    case CopyState::kSame:
      return check && check->health != runtime::CertificateHealth::kValid;
    case CopyState::kUnreachable:
      return false;
    case CopyState::kDiffers:
    case CopyState::kAbsent:
    case CopyState::kUnreadable:
      return true;
  }
  return true;
}

bool CertificateEntry::finding() const {
  if (!stored || stored->health != runtime::CertificateHealth::kValid) return true;
  return std::any_of(copies.begin(), copies.end(), [](const auto& c) { return c.finding(); });
}

bool CertificateInventory::anyFinding() const {
  return std::any_of(entries.begin(), entries.end(), [](const auto& e) { return e.finding(); });
}

bool CertificateInventory::anyUnreachable() const {
  return std::any_of(hosts.begin(), hosts.end(), [](const auto& h) { return !h.second.ok(); });
}

std::vector<std::string> certificatePathsOn(const resources::DesiredState& state,
                                            const resources::Host& host) {
  std::vector<std::string> paths;
  for (const resources::CertificateBundle& b : state.bundles) {
    for (const resources::BundleFile& f : b.files) {
      // Only certificates: keys, and kubeconfigs that embed them, never leave the host.
      if (f.kind == resources::ContentKind::kCertificate && state.selects(f.hosts, host)) {
        paths.push_back(f.path);
      }
    }
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

std::vector<CertificateRead> certificateReads(const resources::DesiredState& state,
                                              const std::vector<std::string>& hosts) {
  std::vector<CertificateRead> reads;
  for (const resources::Host* h : sortedHosts(state, hosts)) {
    auto paths = certificatePathsOn(state, *h);
    if (!paths.empty()) reads.push_back({h, std::move(paths)});
  }
  return reads;
}

CertificateInventory buildInventory(const resources::DesiredState& state,
                                    const StoredCertificates& stored,
                                    const std::map<std::string, InstalledFiles>& installed,
                                    const std::vector<std::string>& hosts, Clock::time_point now) {
  return Builder(state, stored, installed, hosts, now).run();
}

std::string entryStatus(const CertificateEntry& e) {
  return e.stored ? healthText(e, *e.stored) : e.storeMessage;
}

std::string copyStatus(const CertificateEntry& e, const InstalledCopy& c) {
  switch (c.state) {
    case CopyState::kSame:
      return healthText(e, *c.check);
    case CopyState::kDiffers:
      return "differs from the store; " + healthText(e, *c.check);
    case CopyState::kAbsent:
      return "absent (kthw apply installs it)";
    case CopyState::kUnreadable:
      return "unreadable: " + c.message;
    case CopyState::kUnreachable:
      return "unreachable: " + c.message;
  }
  return "unknown";
}

std::vector<HostCertificates> certificatesByHost(const CertificateInventory& inventory) {
  std::map<std::string, HostCertificates> byHost;
  for (const auto& [host, reach] : inventory.hosts) byHost[host] = {host, reach, 0, 0, {}, {}, {}};
  for (const CertificateEntry& e : inventory.entries) {
    for (const InstalledCopy& c : e.copies) {
      auto it = byHost.find(c.host);
      if (it == byHost.end() || c.state == CopyState::kUnreachable) continue;
      HostCertificates& h = it->second;
      if (c.finding()) h.findings.push_back(c.path + ": " + copyStatus(e, c));
      if (!c.check) continue;
      ++h.installed;
      h.chained += c.check->chain.ok() ? 1 : 0;
      if (!h.soonestDaysLeft || c.check->daysLeft < *h.soonestDaysLeft) {
        h.soonestDaysLeft = c.check->daysLeft;
        h.soonestPath = c.path;
      }
    }
  }
  std::vector<HostCertificates> out;
  out.reserve(byHost.size());
  for (auto& [host, h] : byHost) out.push_back(std::move(h));
  return out;
}

}  // namespace kthw::reconcilers
