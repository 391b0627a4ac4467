// Cache test harness (see harness.hpp).
#include "harness.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <utime.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace fs = std::filesystem;

namespace cachetest {

std::string proxy_bin() { return LLP_PROXY_BIN; }
// LLP_SIM_BIN_DIR runs the suite against another simulator build (e.g. while tests/sim is being changed).
std::string sim_dir() {
  const char* d = std::getenv("LLP_SIM_BIN_DIR");
  return d && *d ? d : LEANSIM_BIN_DIR;
}
std::string sim(const std::string& name) { return sim_dir() + "/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_lines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

Env sim_env(Env extra) {
  const char* p = std::getenv("PATH");
  extra["PATH"] = sim_dir() + ":" + (p ? p : "/usr/bin:/bin");
  return extra;
}

int Workspace::build(const Env& env) const {
  return simtest::run({sim("lake"), "build"}, root(), sim_env(env)).code;
}

void Workspace::touch(const std::string& rel) const {
  // utime(NULL) sets "now"; the content (and so every hash) stays the same.
  REQUIRE(::utime((root() + "/" + rel).c_str(), nullptr) == 0);
}

namespace {
Workspace::Snapshot scan(const std::string& dir, const std::function<bool(const fs::path&)>& want) {
  Workspace::Snapshot s;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (!it->is_regular_file() || !want(p)) continue;
    struct stat st{};
    if (::stat(p.c_str(), &st) != 0) continue;
    s[p.string()] = std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  return s;
}
}  // namespace

Workspace::Snapshot Workspace::snapshot() const {
  return scan(root(), [](const fs::path& p) {
    bool in_lake = p.string().find("/.lake/") != std::string::npos;
    return (p.extension() == ".lean" && !in_lake) || p.extension() == ".ilean";
  });
}

Workspace::Snapshot Workspace::build_snapshot() const {
  return scan(root() + "/.lake", [](const fs::path&) { return true; });
}

void Workspace::save_build(const std::string& to) const {
  std::string cmd = "rm -rf '" + to + "' && cp -a '" + root() + "/.lake' '" + to + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

void Workspace::restore_build(const std::string& from) const {
  std::string cmd = "rm -rf '" + root() + "/.lake' && cp -a '" + from + "' '" + root() + "/.lake'";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

json Workspace::changes_since(Snapshot& snap) const {
  Snapshot now = snapshot();
  json changes = json::array();
  for (const auto& [path, id] : now) {
    auto it = snap.find(path);
    if (it == snap.end()) changes.push_back({{"uri", "file://" + path}, {"type", 1}});
    else if (it->second != id) changes.push_back({{"uri", "file://" + path}, {"type", 2}});
  }
  for (const auto& [path, id] : snap)
    if (!now.count(path)) changes.push_back({{"uri", "file://" + path}, {"type", 3}});
  snap = std::move(now);
  return changes;
}

Peer::Peer(const std::vector<std::string>& argv, const std::string& cwd, const Env& env)
    : srv_(std::make_unique<simtest::Server>(argv, cwd, env)) {}

Peer::~Peer() {
  if (!down_) {
    // No orderly shutdown happened (a failed test): make sure nothing lingers.
    ::kill(srv_->pid(), SIGKILL);
  }
}

std::optional<json> Peer::next(int timeout_ms) {
  auto m = srv_->recv(timeout_ms);
  if (!m) return m;
  log_.push_back(*m);
  if (m->contains("method") && m->contains("id"))  // a server→client request: accept it
    srv_->send({{"id", (*m)["id"]}, {"result", nullptr}});
  return m;
}

json Peer::request(const std::string& method, const json& params, int timeout_ms) {
  std::string id = "t" + std::to_string(next_id_++);
  srv_->send({{"id", id}, {"method", method}, {"params", params}});
  for (;;) {
    auto m = next(timeout_ms);
    if (!m) {
      FAIL("no reply to " << method << " " << params.dump() << " within " << timeout_ms << " ms");
      return json();
    }
    if (m->value("id", json()) == id && !m->contains("method")) return *m;
  }
}

json Peer::initialize() {
  json caps = {{"lean", {{"silentDiagnosticSupport", true}}}};
  json r = request("initialize", {{"capabilities", caps}, {"initializationOptions", {{"hasWidgets", true}}}});
  notify("initialized", json::object());
  return r;
}

void Peer::notify(const std::string& method, const json& params) {
  srv_->send({{"method", method}, {"params", params}});
}

void Peer::open(const std::string& uri, const std::string& text, long version, const char* build_mode) {
  json p{{"textDocument", {{"uri", uri}, {"languageId", "lean4"}, {"version", version}, {"text", text}}}};
  if (build_mode) p["dependencyBuildMode"] = build_mode;
  notify("textDocument/didOpen", p);
}

namespace {
json pos_of(const std::string& text, std::size_t off) {  // ASCII texts only: characters = bytes
  long line = 0, col = 0;
  for (std::size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') ++line, col = 0;
    else ++col;
  }
  return {{"line", line}, {"character", col}};
}
}  // namespace

void Peer::change(const std::string& uri, long version, const std::string& a, const std::string& b) {
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
  json edit{{"range", {{"start", pos_of(a, pre)}, {"end", pos_of(a, a.size() - suf)}}},
            {"text", b.substr(pre, b.size() - pre - suf)}};
  notify("textDocument/didChange",
         {{"textDocument", {{"uri", uri}, {"version", version}}}, {"contentChanges", json::array({edit})}});
}

void Peer::close(const std::string& uri) { notify("textDocument/didClose", {{"textDocument", {{"uri", uri}}}}); }

bool Peer::wait(const std::string& uri, long version, int timeout_ms) {
  json r = request("textDocument/waitForDiagnostics", {{"uri", uri}, {"version", version}}, timeout_ms);
  first_wait_reply_.emplace(uri + "#" + std::to_string(version), log_.size() - 1);
  return !r.contains("error");
}

void Peer::drain(int ms) {
  while (next(ms)) {
  }
}

int Peer::shutdown() {
  request("shutdown", nullptr, 10000);
  notify("exit", json::object());
  int code = srv_->wait_exit(10000);
  if (code == -1) {
    ::kill(srv_->pid(), SIGKILL);
    srv_->wait_exit(5000);
  }
  down_ = true;
  return code;
}

Peer::Outcome Peer::outcome(const std::string& uri, long version) const {
  Outcome o;
  auto w = first_wait_reply_.find(uri + "#" + std::to_string(version));
  std::size_t reply = w == first_wait_reply_.end() ? log_.size() : w->second;
  bool pending_hit_publish = false;
  for (std::size_t i = 0; i < log_.size(); ++i) {
    const json& m = log_[i];
    std::string method = m.value("method", "");
    if (method == "textDocument/publishDiagnostics") {
      const json& p = m["params"];
      if (p.value("uri", "") != uri || p.value("version", -1L) != version) continue;
      if (!o.seen) o.seen = true;
      ++o.publishes;
      o.last = p["diagnostics"];
      if (pending_hit_publish) {
        o.served = p["diagnostics"];
        pending_hit_publish = false;
      } else if (!o.hit && i < reply) {
        o.served = p["diagnostics"];
      }
    } else if (method == "$/lean/fileProgress") {
      const json& td = m["params"]["textDocument"];
      if (td.value("uri", "") != uri || td.value("version", -1L) != version) continue;
      if (!o.seen && m["params"]["processing"].empty()) {
        o.hit = true;
        pending_hit_publish = true;
      }
      o.seen = true;
    }
  }
  return o;
}

std::unique_ptr<Peer> start_proxy(const std::string& ws_root, const ProxyOpts& o) {
  std::vector<std::string> argv{proxy_bin(), "--log-level", "debug"};
  if (!o.cache_dir.empty()) argv.insert(argv.end(), {"--cache-dir", o.cache_dir});
  if (!o.log_file.empty()) argv.insert(argv.end(), {"--log-file", o.log_file});
  argv.insert(argv.end(), o.extra.begin(), o.extra.end());
  argv.insert(argv.end(), {"--", sim("lake"), "serve"});
  // In-process, never the per-user daemon: the daemon would own another
  // cache dir and log, and outlive the test. A private XDG_RUNTIME_DIR keeps
  // even a misbehaving build away from other users' daemon sockets.
  Env env = o.env;
  env["LEAN_LSP_PROXY_NO_DAEMON"] = "1";
  std::string run_dir = (o.cache_dir.empty() ? ws_root + "/.llp" : o.cache_dir) + "-run";
  fs::create_directories(run_dir);
  env["XDG_RUNTIME_DIR"] = run_dir;
  auto p = std::make_unique<Peer>(argv, ws_root, sim_env(env));
  p->initialize();
  return p;
}

std::unique_ptr<Peer> start_direct(const std::string& ws_root, const Env& env) {
  auto p = std::make_unique<Peer>(std::vector<std::string>{sim("lake"), "serve"}, ws_root, sim_env(env));
  p->initialize();
  return p;
}

}  // namespace cachetest
