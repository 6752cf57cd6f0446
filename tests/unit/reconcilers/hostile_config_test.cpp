// nginx and haproxy configurations fed with values full of the characters that end or open a
// directive: the real nginx accepts the file, and it holds exactly the intended directives.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "reconcilers/config_syntax.h"
#include "reconcilers/load_balancer_config.h"
#include "runtime/pki.h"

namespace kthw::reconcilers {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNginx = "/usr/sbin/nginx";

// The directives of an nginx file, as ngx_conf_read_token splits it: each with its words
// unquoted; "{" and "}" end a directive too.
std::vector<std::vector<std::string>> nginxDirectives(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> words;
  std::string word;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\' && i + 1 < text.size()) {
        word += text[++i];
      } else if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      inWord = true;
    } else if (c == ' ' || c == '\n' || c == '\t' || c == ';' || c == '{' || c == '}') {
      if (inWord) words.push_back(word);
      word.clear();
      inWord = false;
      if ((c == ';' || c == '{') && !words.empty()) out.push_back(words);
      if (c == ';' || c == '{' || c == '}') words.clear();
    } else {
      word += c;
      inWord = true;
    }
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kthw-nginx-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void writeText(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// Runs nginx -t on a main configuration that includes `file` inside `context` {}; returns its
// exit status and output. Modules (the stream module) load from nginx's own prefix.
std::pair<int, std::string> nginxTest(const fs::path& dir, const std::string& context,
                                      const fs::path& file) {
  writeText(dir / "nginx.conf", "pid " + (dir / "nginx.pid").string() +
                                    ";\ninclude /etc/nginx/modules-enabled/*.conf;\nevents {}\n" +
                                    context + " {\ninclude \"" + file.string() + "\";\n}\n");
  const std::string cmd =
      std::string(kNginx) + " -t -q -e stderr -c " + (dir / "nginx.conf").string() + " 2>&1";
  std::string output;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[512];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
  const int status = p != nullptr ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string caPem() {
  auto key = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
  runtime::CertificateRequest r;
  r.commonName = "ca";
  r.isCa = true;
  r.validity = std::chrono::hours(24);
  return runtime::issueCertificate(r, *key, "", *key, std::chrono::system_clock::now()).value();
}

TEST(HostileNginx, HealthzSiteWithSeparatorsIsAcceptedByNginxAsFourDirectives) {
  ASSERT_TRUE(fs::exists(kNginx)) << "nginx is missing: scripts/deps.sh installs it";
  TempDir dir;
  const fs::path caDir = dir.path() / "ca dir;} server {listen 81;}#";
  fs::create_directories(caDir);
  writeText(caDir / "ca.pem", caPem());
  resources::HealthzProxy proxy;
  proxy.listenPort = 80;
  proxy.serverName = "kubernetes.default.svc.cluster.local";
  proxy.upstream = "https://127.0.0.1:6443/healthz?a=1;b='2'#frag";
  proxy.caFile = (caDir / "ca.pem").string();
  auto site = renderHealthzProxySite(proxy);
  ASSERT_TRUE(site.ok()) << site.status().message();
  writeText(dir.path() / "site.conf", *site);
  auto [status, output] = nginxTest(dir.path(), "http", dir.path() / "site.conf");
  EXPECT_EQ(status, 0) << output << *site;
  const auto directives = nginxDirectives(*site);
  ASSERT_EQ(directives.size(), 6u) << *site;  // server{, listen, server_name, location{, 2 more
  EXPECT_EQ(directives[4], (std::vector<std::string>{"proxy_pass", proxy.upstream}));
  EXPECT_EQ(directives[5],
            (std::vector<std::string>{"proxy_ssl_trusted_certificate", proxy.caFile}));
}

// A load balancer with the values its CRD defaults (typed objects carry none of their own).
resources::LoadBalancer loadBalancer(const std::string& implementation) {
  resources::LoadBalancer lb;
  lb.metadata.name = "lb";
  lb.implementation = implementation;
  lb.frontendPort = 6443;
  lb.backendPort = 6443;
  lb.fall = 3;
  lb.rise = 2;
  lb.intervalSeconds = 2;
  return lb;
}

TEST(HostileNginx, StreamConfigIsAcceptedByNginx) {
  ASSERT_TRUE(fs::exists(kNginx)) << "nginx is missing: scripts/deps.sh installs it";
  TempDir dir;
  resources::LoadBalancer lb = loadBalancer("nginx");
  lb.frontendAddress = "127.0.0.1";
  lb.frontendPort = 16443;
  auto cfg = renderNginxStreamConfig(lb, {{"c0", "10.0.1.10"}, {"c1", "10.0.1.11"}});
  ASSERT_TRUE(cfg.ok());
  writeText(dir.path() / "stream.conf", *cfg);
  // The stream file is its own top-level block: include it at the top.
  writeText(dir.path() / "nginx.conf", "pid " + (dir.path() / "nginx.pid").string() +
                                           ";\ninclude /etc/nginx/modules-enabled/*.conf;\n"
                                           "events {}\ninclude " +
                                           (dir.path() / "stream.conf").string() + ";\n");
  const std::string cmd = std::string(kNginx) + " -t -q -e stderr -c " +
                          (dir.path() / "nginx.conf").string() + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << *cfg;
  EXPECT_EQ(nginxDirectives(*cfg).size(), 7u) << *cfg;  // stream, upstream, 2 servers, server,
                                                        // listen, proxy_pass
}

TEST(ConfigSyntax, NginxQuotesSeparatorsAndRefusesVariablesAndLineBreaks) {
  EXPECT_EQ(nginxWord("10.0.1.10:6443").value(), "10.0.1.10:6443");
  EXPECT_EQ(nginxWord("a;b{c}\"d\\ #e").value(), "\"a;b{c}\\\"d\\\\ #e\"");
  EXPECT_FALSE(nginxWord("https://$host/").ok());
  EXPECT_FALSE(nginxWord("a\nb").ok());
  EXPECT_FALSE(nginxWord("a\rb").ok());
}

TEST(ConfigSyntax, HaproxyQuotesSeparatorsAndRefusesWhatSingleQuotesCannotHold) {
  EXPECT_EQ(haproxyWord("controller-0").value(), "controller-0");
  EXPECT_EQ(haproxyWord("a b#c ${X}").value(), "'a b#c ${X}'");
  EXPECT_FALSE(haproxyWord("a'b").ok());
  EXPECT_FALSE(haproxyWord("a\nb").ok());
  EXPECT_FALSE(configComment("x\nglobal").ok());
}

TEST(HostileHaproxy, ABackendNameCannotAddAServerLine) {
  resources::LoadBalancer lb = loadBalancer("haproxy");
  lb.frontendAddress = "10.0.1.30";
  EXPECT_FALSE(renderHaproxyConfig(lb, {{"c0\n    server evil 6.6.6.6:6443", "10.0.1.10"}}).ok());
  auto cfg = renderHaproxyConfig(lb, {{"c0 backup", "10.0.1.10"}});
  ASSERT_TRUE(cfg.ok());
  EXPECT_NE(cfg->find("    server 'c0 backup' 10.0.1.10:6443 check"), std::string::npos) << *cfg;
}

}  // namespace
}  // namespace kthw::reconcilers
