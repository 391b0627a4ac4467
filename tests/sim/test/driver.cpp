// Test driver for the simulator (see driver.hpp).
#include "driver.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace simtest {

std::string bin(const std::string& name) { return std::string(LEANSIM_BIN_DIR) + "/" + name; }

TempDir::TempDir() {
  char tmpl[] = "/tmp/leansim-test-XXXXXX";
  path = fs::canonical(::mkdtemp(tmpl)).string();
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}
void TempDir::write(const std::string& rel, const std::string& content) const {
  fs::path p = fs::path(path) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}
std::string TempDir::read(const std::string& rel) const {
  std::ifstream in(fs::path(path) / rel, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string TempDir::uri(const std::string& rel) const { return "file://" + path + "/" + rel; }

namespace {
pid_t spawn(const std::vector<std::string>& argv, const std::string& cwd, const Env& env, int in_fd, int out_fd) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::chdir(cwd.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (in_fd >= 0) ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}
}  // namespace

Server::Server(const std::vector<std::string>& argv, const std::string& cwd, const Env& env) {
  ::signal(SIGPIPE, SIG_IGN);
  int a[2], b[2];
  REQUIRE(::pipe2(a, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(b, O_CLOEXEC) == 0);
  pid_ = spawn(argv, cwd, env, a[0], b[1]);
  ::close(a[0]);
  ::close(b[1]);
  in_ = a[1];
  out_ = b[0];
}

Server::~Server() {
  ::close(in_);
  ::close(out_);
  if (!exited_) {
    ::kill(pid_, SIGTERM);
    int st;
    ::waitpid(pid_, &st, 0);
  }
}

void Server::send_raw(const std::string& body) {
  std::string frame = leanproxy::framing::encode(body);
  ssize_t n = ::write(in_, frame.data(), frame.size());
  (void)n;
}

void Server::send(const json& msg) {
  json m = msg;
  m["jsonrpc"] = "2.0";
  send_raw(m.dump());
}

std::optional<json> Server::recv(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto r = parser_.next();
    if (r.status == leanproxy::framing::FrameParser::Status::frame) {
      json j = json::parse(r.body, nullptr, false);
      if (!j.is_discarded()) {
        history_.push_back(j);
        return j;
      }
      ++malformed_;  // a body that is not JSON: counted, skipped
      continue;
    }
    if (r.status == leanproxy::framing::FrameParser::Status::error) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

std::vector<json> Server::until(const std::function<bool(const json&)>& pred, int timeout_ms) {
  std::vector<json> out;
  for (;;) {
    auto m = recv(timeout_ms);
    if (!m) {
      std::string got;
      for (const auto& x : out) got += x.dump().substr(0, 300) + "\n";
      FAIL("timed out waiting for a message; got:\n" << got);
      return out;
    }
    out.push_back(*m);
    if (pred(*m)) return out;
  }
}

std::vector<json> Server::request(const std::string& method, const json& params, int timeout_ms) {
  int id = next_id_++;
  send({{"id", id}, {"method", method}, {"params", params}});
  return until([&](const json& m) { return m.contains("id") && m["id"] == id && !m.contains("method"); }, timeout_ms);
}

json Server::initialize(bool silent_support) {
  return initialize_with(silent_support ? json{{"silentDiagnosticSupport", true}} : json());
}

json Server::initialize_with(const json& lean_caps) {
  json caps = json::object();
  if (!lean_caps.is_null()) caps["lean"] = lean_caps;
  auto r = request("initialize", {{"capabilities", caps}, {"initializationOptions", {{"hasWidgets", true}}}});
  send({{"method", "initialized"}, {"params", json::object()}});
  until([](const json& m) { return m.value("id", json()) == "register_lean_watcher"; });
  return r.back();
}

void Server::open(const std::string& uri, const std::string& text, int version, const char* build_mode) {
  json p{{"textDocument", {{"uri", uri}, {"languageId", "lean4"}, {"version", version}, {"text", text}}}};
  if (build_mode) p["dependencyBuildMode"] = build_mode;
  send({{"method", "textDocument/didOpen"}, {"params", p}});
}

std::vector<json> Server::wait_diags(const std::string& uri, int version, int timeout_ms) {
  return request("textDocument/waitForDiagnostics", {{"uri", uri}, {"version", version}}, timeout_ms);
}

json Server::last_publish(const std::string& uri, int version) const {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it)
    if (it->value("method", "") == "textDocument/publishDiagnostics" && (*it)["params"]["uri"] == uri &&
        (*it)["params"].value("version", -1) == version)
      return (*it)["params"];
  FAIL("no publishDiagnostics for " << uri << " version " << version);
  return json();
}

int Server::wait_exit(int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    ::usleep(10000);
  }
  return -1;
}

RunResult run(const std::vector<std::string>& argv, const std::string& cwd, const Env& env) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = spawn(argv, cwd, env, -1, p[1]);
  ::close(p[1]);
  RunResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::vector<json> events(const std::string& file, const std::string& kind) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && (kind.empty() || j.value("ev", "") == kind)) out.push_back(j);
  }
  return out;
}

std::vector<json> publishes(const std::vector<json>& msgs, int version) {
  std::vector<json> out;
  for (const auto& m : msgs)
    if (m.value("method", "") == "textDocument/publishDiagnostics" &&
        (version < 0 || m["params"].value("version", -1) == version))
      out.push_back(m["params"]);
  return out;
}

json accumulate(const std::vector<json>& publishes) {
  json held = json::array();
  for (const auto& p : publishes) {
    if (!p.value("isIncremental", false)) held = json::array();
    for (const auto& d : p["diagnostics"]) held.push_back(d);
  }
  return held;
}

bool is_progress_done(const json& m) {
  return m.value("method", "") == "$/lean/fileProgress" && m["params"]["processing"].empty();
}

}  // namespace simtest
