#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/bundle_material.h"
#include "resources/desired_state.h"
#include "runtime/secret_store.h"

namespace kthw::reconcilers {

// kthw adopt: the precious material a cluster built by hand (or by kthw on another machine)
// already runs on, read from the hosts at the paths the desired state names, checked, and
// turned into secret store entries, so that nothing precious is ever reissued.

// What the hosts hold: host name -> path -> content. A path absent from a host is absent.
using HostFileContents = std::map<std::string, std::map<std::string, std::string>>;

// The paths adoption reads on `host`: every file of `bundle` placed there. Kubeconfigs are read
// for the client certificate and key they embed.
std::vector<std::string> adoptablePathsOn(const resources::DesiredState& state,
                                          const resources::CertificateBundle& bundle,
                                          const resources::Host& host);

struct AdoptionItem {
  enum class Outcome {
    kImported,       // read from the hosts, checked, to be written to the store
    kAlreadyStored,  // the store holds the same material
    kNotFound,       // on no host: kthw apply issues it
    kLeft,           // derivable and not usable as found: kthw apply reissues it
    kRefused,        // precious and in conflict: nothing may be written
  };
  std::string what;  // "authority ca", "certificate admin", "key pair sa", ...
  Material material = Material::kDerivable;
  Outcome outcome = Outcome::kNotFound;
  std::string detail;  // where it came from, or why not; never key material
};

struct Adoption {
  std::vector<AdoptionItem> items;
  std::map<std::string, std::string> imports;  // store path -> content
  // Store paths of precious material no host runs, replaced by what the hosts run: kept aside
  // in the store (see kSupersededDir), never deleted.
  std::vector<std::string> superseded;

  bool refused() const;
};

// Decides what to import. Precious material must agree everywhere it is found (one CA, one
// key pair, one encryption key list), each private key must belong to its certificate or public
// half, and the store must not already hold other precious material under the same name:
// otherwise the item is refused. Leaves are imported when a copy is signed by their (adopted or
// stored) authority and a key found with it belongs to it; whether they still match the spec
// is the next diff's question. Encryption config keys must be named key<generation>, as kthw
// names them, since renaming a key makes every Secret written with it unreadable.
//
// Other precious material in the store is refused unless `supersede`: then, as long as no host
// runs it (an apply that the guard held back issued it), it is set aside and the hosts' material
// imported; leaves the store holds that the adopted authority did not sign are replaced too.
Adoption planAdoption(const resources::DesiredState& state,
                      const resources::CertificateBundle& bundle, const HostFileContents& found,
                      const runtime::SecretStore* store, bool supersede = false);

// Where superseded material goes in the store: "<kSupersededDir>/<unix time>/<store path>".
inline constexpr const char* kSupersededDir = "superseded";

// The keys of an encryption config as the host's file lists them for `provider`, in provider
// order: (name, base64 secret). InvalidArgument with the reason when the text is not such a
// config or the provider is absent. Messages never contain a secret.
StatusOr<std::vector<std::pair<std::string, std::string>>> encryptionConfigProviderKeys(
    const std::string& text, const std::string& provider);

// The client certificate and key (PEM) a kubeconfig of one user embeds, if it does.
std::optional<std::pair<std::string, std::string>> kubeconfigCredentials(const std::string& text);

// Text read from a host, safe to print: bytes outside printable ASCII become '?', and it is cut
// at 64 characters.
std::string printableText(const std::string& s);

}  // namespace kthw::reconcilers
