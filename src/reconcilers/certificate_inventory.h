#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "resources/desired_state.h"
#include "runtime/pki.h"

namespace kthw::reconcilers {

// Every authority and certificate of the desired state, as the secret store holds it and as the
// hosts have it installed: what `kthw certs` reports. Only certificate files are ever read from
// a host; keys, and kubeconfigs (which embed keys), are not.

// How an installed copy compares with the store's certificate.
enum class CopyState { kSame, kDiffers, kAbsent, kUnreadable, kUnreachable };
// "same", "differs", "absent", "unreadable", "unreachable".
std::string_view copyStateName(CopyState s);

struct InstalledCopy {
  std::string host;
  std::string path;
  CopyState state = CopyState::kAbsent;
  // The installed certificate judged against the store's authority (kSame and kDiffers).
  std::optional<runtime::CertificateCheck> check;
  std::string message;  // why unreadable or unreachable

  // Anything to act on besides an unreachable host: a copy that is absent, unreadable, differs
  // from the store's, or is itself not valid.
  bool finding() const;
};

struct CertificateEntry {
  std::string bundle;
  std::string name;
  bool authority = false;
  std::string authorityName;  // the authority it must chain to: its issuer, or itself
  std::chrono::seconds renewBefore{};
  std::optional<runtime::CertificateCheck> stored;  // nothing when the store does not hold it
  std::string storeMessage;                         // why there is no check
  std::vector<InstalledCopy> copies;                // by host, then the bundle's file order

  // Not issued, unreadable in the store, or not valid; or a copy with a finding.
  bool finding() const;
};

struct CertificateInventory {
  std::chrono::system_clock::time_point now;
  std::vector<CertificateEntry> entries;  // bundles in order; authorities, then certificates
  std::map<std::string, Status> hosts;    // every host that was read: ok, or why it was not

  bool anyFinding() const;
  bool anyUnreachable() const;
};

// What the secret stores hold: PEM by bundle name, then authority or certificate name.
using StoredCertificates = std::map<std::string, std::map<std::string, std::string>>;

// What a host has at the certificate paths the desired state places on it.
struct InstalledFiles {
  Status reach;
  std::map<std::string, std::string> files;  // path -> content; absent files are left out
};

// The certificate paths (files whose content is an authority or a certificate) that the desired
// state places on `host`, sorted.
std::vector<std::string> certificatePathsOn(const resources::DesiredState& state,
                                            const resources::Host& host);

// What to read to learn what the hosts have installed: each selected host (all when `hosts` is
// empty) that gets a certificate file, sorted by name, with those paths. The engine fetches them
// (engine/installed_certificates.h), one fetch per host.
struct CertificateRead {
  const resources::Host* host = nullptr;
  std::vector<std::string> paths;
};
std::vector<CertificateRead> certificateReads(const resources::DesiredState& state,
                                              const std::vector<std::string>& hosts);

// Judges what the store holds and what the hosts have at `now`. With `hosts`, only certificates
// placed on those hosts are listed, with their copies there. Leaves are judged against their
// renewBefore, authorities against kAuthorityRenewBefore.
CertificateInventory buildInventory(const resources::DesiredState& state,
                                    const StoredCertificates& stored,
                                    const std::map<std::string, InstalledFiles>& installed,
                                    const std::vector<std::string>& hosts,
                                    std::chrono::system_clock::time_point now);

// One line of status for people: "valid", "renew-due (expires within 30d)", "not issued (run
// kthw apply first)", "untrusted: <OpenSSL's reason>", ...
std::string entryStatus(const CertificateEntry& e);
std::string copyStatus(const CertificateEntry& e, const InstalledCopy& c);

// What one host has installed, summed up (kthw verify's certificates row).
struct HostCertificates {
  std::string host;
  Status reach;
  size_t installed = 0;  // copies read and parsed
  size_t chained = 0;    // of those, how many chain to their authority in the store
  std::optional<int64_t> soonestDaysLeft;
  std::string soonestPath;
  std::vector<std::string> findings;  // "PATH: what is wrong" for each copy with a finding
};

// Per host read, sorted by name: its copies' chains, the soonest expiry, and every copy that is
// absent, unreadable, differs from the store's, does not chain, or is within its renewal window.
std::vector<HostCertificates> certificatesByHost(const CertificateInventory& inventory);

// The inventory as one JSON object (see the README's `kthw certs` section for its fields).
std::string inventoryJson(const CertificateInventory& inventory);

// "2027-06-21T10:00:00Z".
std::string isoTime(std::chrono::system_clock::time_point t);

}  // namespace kthw::reconcilers
