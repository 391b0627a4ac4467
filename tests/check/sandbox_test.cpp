// --sandbox: agent checks under bubblewrap against the simulator, whose `#eval` runs IO for real (tests/sim/lang_io.hpp).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "check_helpers.hpp"
#include "harness.hpp"
#include "workspace_fixture.hpp"

using namespace cachetest;
using checktest::check;
using checktest::has_message;
namespace fs = std::filesystem;

namespace {

std::string unique(const std::string& stem) {
  static std::atomic<int> n{0};
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

struct Sbx {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", log = aux.path + "/proxy.log";
  // Every process the proxy starts inherits this: how a leftover is found.
  std::string mark = unique("llp-sandbox-test");
  Sbx() { make_workspace(ws); }
  std::unique_ptr<Peer> proxy(bool sandbox, std::vector<std::string> extra = {}, Env env = {}) {
    if (sandbox) extra.insert(extra.begin(), "--sandbox");
    env["LLP_SANDBOX_TEST_MARK"] = mark;
    return start_proxy(ws.root(), ProxyOpts{cache, log, std::move(extra), env});
  }
  // Live processes carrying our mark (read from /proc/<pid>/environ, which
  // shows every pid namespace's processes under their host pids).
  std::vector<int> marked() const {
    std::vector<int> pids;
    std::string needle = "LLP_SANDBOX_TEST_MARK=" + mark;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream f(e.path() / "environ", std::ios::binary);
      std::string env((std::istreambuf_iterator<char>(f)), {});
      std::ifstream st(e.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(st)), {});
      bool zombie = stat.find(") Z ") != std::string::npos;
      if (!zombie && env.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
    }
    return pids;
  }
  bool none_left(int within_ms = 5000) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(within_ms);
    while (!marked().empty()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  bool check_documents_on_disk() const {
    for (const auto& e : fs::recursive_directory_iterator(ws.root()))
      if (e.path().filename().string().rfind("LeanProxyCheck", 0) == 0) return true;
    return false;
  }
};


// A TCP listener on the host's loopback; counts connections made to it.
struct Listener {
  int fd = -1, port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  int accepted() const {
    int n = 0;
    for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0; ++n) ::close(c);
    return n;
  }
};

}  // namespace

TEST_CASE("sandbox: an #eval cannot write into the workspace, unsandboxed (the control) it can") {
  Sbx s;
  const std::string text = "import Demo.A\n#eval IO.FS.writeFile \"Escaped.txt\" \"written by a check\"\n";
  {
    auto p = s.proxy(true);
    json r = check(*p, {{"text", text}});
    CHECK(r["ok"] == false);
    CHECK_MESSAGE(has_message(r["diagnostics"], "read-only file system (error code: 30)\n  file: Escaped.txt"),
                  r.dump());
    CHECK_FALSE(fs::exists(s.ws.root() + "/Escaped.txt"));
    CHECK(p->shutdown() == 0);
  }
  {
    auto p = s.proxy(false);
    json r = check(*p, {{"text", text}});
    CHECK(r["ok"] == true);
    CHECK(r["cached"] == false);  // the sandboxed failure was keyed apart
    CHECK(s.ws.dir.read("Escaped.txt") == "written by a check");  // relative: the workspace root
    CHECK(p->shutdown() == 0);
  }
  // Check documents are virtual (didOpen only), sandboxed or not.
  CHECK_FALSE(s.check_documents_on_disk());
}

TEST_CASE("sandbox: /tmp inside is private (writable, invisible to the host)") {
  Sbx s;
  std::string name = "/tmp/" + unique("llp-sandbox-tmp") + ".txt";
  auto p = s.proxy(true, {"--cache", "off"});
  json r = check(*p, {{"text", "import Demo.A\n#eval IO.FS.writeFile \"" + name + "\" \"inside\"\n#eval IO.FS.readFile \"" +
                                   name + "\"\n"}});
  CHECK_MESSAGE(r["ok"] == true, r.dump());
  CHECK(has_message(r["diagnostics"], "\"inside\""));
  CHECK_FALSE(fs::exists(name));
  // TMPDIR points there too.
  json t = check(*p, {{"text", "import Demo.A\n#eval IO.Process.run { cmd := \"sh\", args := #[\"-c\", \"printf %s "
                                "\\\"$TMPDIR\\\"\"] }\n"}});
  CHECK(has_message(t["diagnostics"], "\"/tmp\""));
  CHECK(p->shutdown() == 0);
}

TEST_CASE("sandbox: no network, not even the host's loopback, unsandboxed (the control) it connects") {
  Sbx s;
  Listener l;
  const std::string text = "import Demo.A\n#eval IO.Process.run { cmd := \"bash\", args := #[\"-c\", \"echo hi > "
                           "/dev/tcp/127.0.0.1/" + std::to_string(l.port) + "\"] }\n";
  {
    auto p = s.proxy(true, {"--cache", "off"});
    json r = check(*p, {{"text", text}});
    CHECK(r["ok"] == false);
    CHECK_MESSAGE(has_message(r["diagnostics"], "process 'bash' exited with code 1"), r.dump());
    CHECK(l.accepted() == 0);
    CHECK(p->shutdown() == 0);
  }
  {
    auto p = s.proxy(false, {"--cache", "off"});
    json r = check(*p, {{"text", text}});
    CHECK_MESSAGE(r["ok"] == true, r.dump());
    CHECK(l.accepted() == 1);
    CHECK(p->shutdown() == 0);
  }
}

TEST_CASE("sandbox: a proof checks ok, cached apart from the same text checked unsandboxed") {
  Sbx s;
  // The #eval leaves a trace on the host only when it really runs unsandboxed.
  std::string marker = "/tmp/" + unique("llp-sandbox-ran") + ".txt";
  const std::string text = "import Demo.A\ntheorem t : a = 2 := by decide\n#eval IO.FS.writeFile \"" + marker + "\" \"x\"\n";
  {
    auto p = s.proxy(true);
    json first = check(*p, {{"text", text}});
    CHECK_MESSAGE(first["ok"] == true, first.dump());
    CHECK(first["cached"] == false);
    json again = check(*p, {{"text", text}});
    CHECK(again["cached"] == true);
    CHECK(p->shutdown() == 0);
  }
  CHECK_FALSE(fs::exists(marker));
  {
    auto p = s.proxy(false);
    json r = check(*p, {{"text", text}});
    CHECK(r["ok"] == true);
    CHECK(r["cached"] == false);  // not the sandboxed entry: it ran, and wrote on the host
    CHECK(fs::exists(marker));
    json again = check(*p, {{"text", text}});
    CHECK(again["cached"] == true);
    CHECK(p->shutdown() == 0);
  }
  {
    auto p = s.proxy(true);  // and the sandboxed entry is still there
    json r = check(*p, {{"text", text}});
    CHECK(r["cached"] == true);
    CHECK(p->shutdown() == 0);
  }
  fs::remove(marker);
}

TEST_CASE("sandbox: imports that need building fail with what to do, and nothing is written") {
  Sbx s;
  s.ws.write("Demo/C.lean", "import Demo.A\ndef c : Nat := a + 1\n");  // not built
  auto p = s.proxy(true, {"--cache", "off"});
  json r = check(*p, {{"text", "import Demo.C\n#eval c\n"}});
  CHECK(r["ok"] == false);
  CHECK_MESSAGE(r["reasons"].dump().find("the imports are not built, and the sandbox is read-only: run `lake build`") !=
                    std::string::npos,
                r.dump());
  CHECK(has_message(r["diagnostics"], "read-only file system"));
  CHECK_FALSE(fs::exists(s.ws.root() + "/.lake/build/lib/lean/Demo/C.olean"));
  // Built on the host, the same check passes in the sandbox.
  REQUIRE(s.ws.build() == 0);
  json after = check(*p, {{"text", "import Demo.C\n#eval c + 0\n"}});
  CHECK_MESSAGE(after["ok"] == true, after.dump());
  CHECK(has_message(after["diagnostics"], "3"));
  CHECK(p->shutdown() == 0);
}

TEST_CASE("sandbox: no process outlives a killed worker, a shutdown, or a killed proxy") {
  Sbx s;
  {
    auto p = s.proxy(true, {"--cache", "off"});
    json ok = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
    CHECK(ok["ok"] == true);
    // The mark reaches the sandboxed tree (proxy, reaper, bwrap ×2, lake, lean, worker): leftovers would show.
    CHECK(s.marked().size() >= 6);
    json hang = check(*p, {{"text", "import Demo.A\ndef x : Nat := 1 -- sim: hang\n"}, {"timeoutMs", 600}});
    CHECK(hang["timedOut"] == true);
    json next = check(*p, {{"text", "import Demo.A\n#eval a + 1\n"}});  // the killed worker's document is warm again
    CHECK(next["ok"] == true);
    CHECK(p->shutdown() == 0);
  }
  CHECK_MESSAGE(s.none_left(), "left behind after shutdown: " << s.marked().size());
  {
    auto p = s.proxy(true, {"--cache", "off"});
    json ok = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
    CHECK(ok["ok"] == true);
    ::kill(p->pid(), SIGKILL);  // no orderly anything: the reaper and bwrap's pid namespace end the tree
    CHECK_MESSAGE(s.none_left(), "left behind after SIGKILL of the proxy: " << s.marked().size());
  }
}

TEST_CASE("sandbox: without a usable bwrap checks fail with the reason and never run unsandboxed") {
  Sbx s;
  simtest::TempDir fake;
  fake.write("bwrap", "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n");
  fs::permissions(fake.path + "/bwrap", fs::perms::owner_all);
  const std::string text = "import Demo.A\n#eval IO.FS.writeFile \"Escaped.txt\" \"x\"\n";
  for (const std::string& path : {sim_dir(), fake.path + ":" + sim_dir()}) {
    CAPTURE(path);
    Env env{{"LEAN_LSP_PROXY_NO_DAEMON", "1"}, {"PATH", path}, {"XDG_RUNTIME_DIR", s.aux.path}};
    Peer p({proxy_bin(), "--sandbox", "--cache-dir", s.cache, "--log-file", s.log, "--", sim("lake"), "serve"},
           s.ws.root(), env);
    p.initialize();
    json r = check(p, {{"text", text}});
    CHECK(r["ok"] == false);
    std::string reasons = r["reasons"].dump();
    CHECK_MESSAGE(reasons.find("never runs unsandboxed") != std::string::npos, reasons);
    if (path == sim_dir()) CHECK(reasons.find("`bwrap` is not on PATH") != std::string::npos);
    else CHECK(reasons.find("No permissions to create new namespace") != std::string::npos);
    CHECK_FALSE(fs::exists(s.ws.root() + "/Escaped.txt"));
    CHECK(p.shutdown() == 0);
  }
}

TEST_CASE("sandbox cli: `check --sandbox --no-daemon FILE`") {
  Sbx s;
  s.ws.write("Demo/Good.lean", "import Demo.A\ntheorem t : a = 2 := by decide\n");
  s.ws.write("Demo/Escape.lean", "import Demo.A\n#eval IO.FS.writeFile \"Escaped.txt\" \"x\"\n");
  auto run = [&](const std::string& args) {
    Env env{{"LEAN_LSP_PROXY_RUNTIME_DIR", s.aux.path + "/run"}, {"LLP_SANDBOX_TEST_MARK", s.mark}};
    std::string cmd = "'" + proxy_bin() + "' check --sandbox --no-daemon --cache-dir '" + s.cache + "' " + args + " 2>&1";
    return simtest::run({"/bin/sh", "-c", cmd}, s.ws.root(), sim_env(env));
  };
  auto good = run("Demo/Good.lean");
  CHECK_MESSAGE(good.code == 0, good.out);
  CHECK(good.out.find("Demo/Good.lean: ok") != std::string::npos);
  auto bad = run("Demo/Escape.lean");
  CHECK_MESSAGE(bad.code == 1, bad.out);
  CHECK(bad.out.find("Demo/Escape.lean:2:0: error: read-only file system (error code: 30)") != std::string::npos);
  CHECK(bad.out.find("Demo/Escape.lean: NOT ok") != std::string::npos);
  CHECK_FALSE(fs::exists(s.ws.root() + "/Escaped.txt"));
  CHECK(s.none_left());
}
