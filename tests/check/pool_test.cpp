// The daemon's warm pool of editor servers: a session gets a spare that was
// started, initialized and pre-warmed before it came; spares are never
// shared and never reused after a client; the warm-up document stays hidden.
// Costs are asserted on the simulator's own events and the daemon's stats.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace cachetest;

namespace {

struct PoolFixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", events = aux.path + "/events.jsonl", run = aux.path + "/run";
  PoolFixture() { make_workspace(ws); }
  ~PoolFixture() { simtest::run({proxy_bin(), "daemon", "stop", "--cache-dir", cache}, ws.root(), env()); }
  Env env() const {
    return sim_env({{"LEAN_SIM_EVENTS", events}, {"LEAN_LSP_PROXY_NO_DAEMON", "0"}, {"LEAN_LSP_PROXY_RUNTIME_DIR", run}});
  }
  std::unique_ptr<Peer> session() const {
    auto p = std::make_unique<Peer>(std::vector<std::string>{proxy_bin(), "--cache-dir", cache, "--", sim("lake"), "serve"},
                                    ws.root(), env());
    p->initialize();
    return p;
  }
  json stats() const {
    auto r = simtest::run({proxy_bin(), "stats", "--json", "--cache-dir", cache}, ws.root(), env());
    return json::parse(r.out, nullptr, false);
  }
  std::size_t count(const std::string& kind) const { return simtest::events(events, kind).size(); }
  // Waits until no daemon process for this cache directory is left.
  bool wait_daemon_gone(int ms = 20000) const {
    for (int waited = 0; waited < ms; waited += 100) {
      bool found = false;
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(e.path() / "cmdline");
        std::string cmd((std::istreambuf_iterator<char>(in)), {});
        found |= cmd.find(std::string("daemon") + '\0') != std::string::npos && cmd.find(cache) != std::string::npos;
      }
      if (!found) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // Waits until the pool has a ready spare (its warm-up done).
  bool wait_spare_ready(int ms = 20000) const {
    for (int waited = 0; waited < ms; waited += 100) {
      json s = stats();
      if (s.is_object() && s["pool"]["servers"].value("spare_ready", 0) >= 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

bool mentions(const std::vector<json>& log, const std::string& needle) {
  for (const auto& m : log)
    if (m.dump().find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("pool: the next session takes a warm server, pre-loaded with the workspace's header") {
  PoolFixture f;
  const std::string main = f.ws.uri("Main.lean");
  auto a = f.session();  // cold: the pool learns this key now
  a->open(main, "import Demo.B\n#eval b\n", 1);
  REQUIRE(a->wait(main, 1));
  CHECK(a->shutdown() == 0);
  REQUIRE(f.wait_spare_ready());
  // The spare opened its warm-up document with the header the workspace used.
  bool warmed = false;
  for (const auto& e : simtest::events(f.events, "worker_start"))
    warmed |= e.value("uri", "").find("LeanProxyWarm.lean") != std::string::npos;
  CHECK(warmed);

  auto servers = f.count("server_start");
  auto b = f.session();  // answered from the spare
  CHECK(f.count("server_start") == servers);  // no server started for it
  b->open(main, "import Demo.B\ntheorem t : b = 4 := by decide\n", 1);
  REQUIRE(b->wait(main, 1));
  auto out = b->outcome(main, 1);
  CHECK(out.last.dump().find("error") == std::string::npos);
  // The server's watcher registration reached this client too, and nothing of the warm-up document did.
  CHECK(mentions(b->log(), "client/registerCapability"));
  CHECK_FALSE(mentions(b->log(), "LeanProxyWarm"));
  json s = f.stats();
  CHECK(s["pool"].value("attaches_warm", 0) == 1);
  CHECK(b->shutdown() == 0);
}

TEST_CASE("pool: two sessions at once never share a server, and a used server is never handed out again") {
  PoolFixture f;
  const std::string main = f.ws.uri("Main.lean");
  auto a = f.session();
  a->open(main, "import Demo.A\n#eval a\n", 1);
  REQUIRE(a->wait(main, 1));
  CHECK(a->shutdown() == 0);
  REQUIRE(f.wait_spare_ready());
  auto exits = f.count("server_exit");

  auto b = f.session();  // the spare
  auto c = f.session();  // at the same time: a server of its own
  b->open(main, "import Demo.A\n#eval a + 1\n", 1);
  c->open(main, "import Demo.A\n#eval a + 2\n", 1);
  REQUIRE(b->wait(main, 1));
  REQUIRE(c->wait(main, 1));
  // One client's didClose must not touch the other's document.
  b->close(main);
  c->change(main, 2, "import Demo.A\n#eval a + 2\n", "import Demo.A\n#eval a + 3\n");
  REQUIRE(c->wait(main, 2));
  CHECK(c->outcome(main, 2).last.dump().find("\"5\"") != std::string::npos);
  json s = f.stats();
  CHECK(s["pool"].value("attaches_warm", 0) == 1);
  CHECK(s["pool"].value("attaches_cold", 0) >= 1);
  CHECK(b->shutdown() == 0);
  CHECK(c->shutdown() == 0);
  // Their servers end with them ("Restart Server" gets a fresh one).
  for (int i = 0; i < 50 && f.count("server_exit") < exits + 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(f.count("server_exit") >= exits + 2);
  REQUIRE(f.wait_spare_ready());
  auto d = f.session();
  CHECK(f.stats()["pool"].value("attaches_warm", 0) == 2);
  CHECK(d->shutdown() == 0);
}

TEST_CASE("pool: a spare started before the lakefile changed is not handed out") {
  PoolFixture f;
  auto a = f.session();
  CHECK(a->shutdown() == 0);
  REQUIRE(f.wait_spare_ready());
  f.ws.write("lakefile.toml", lakefile(true));
  auto servers = f.count("server_start");
  auto b = f.session();
  CHECK(f.count("server_start") > servers);  // a fresh server, with the new configuration
  json s = f.stats();
  CHECK(s["pool"]["retired"].value("config_changed", 0) == 1);
  CHECK(b->shutdown() == 0);
}

TEST_CASE("pool: a spare over the memory limit is retired and reported") {
  PoolFixture f;
  // The daemon is started by the first session with these options.
  auto a = std::make_unique<Peer>(std::vector<std::string>{proxy_bin(), "--cache-dir", f.cache, "--pool-max-memory", "1K",
                                                           "--pool-idle", "3s", "--", sim("lake"), "serve"},
                                  f.ws.root(), f.env());
  a->initialize();
  CHECK(a->shutdown() == 0);
  // A spare starts, exceeds 1 KiB of PSS at once, and is retired at the next sweep.
  json s;
  for (int i = 0; i < 100; ++i) {
    s = f.stats();
    if (s.is_object() && s["pool"]["retired"].value("memory", 0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(s["pool"]["retired"].value("memory", 0) >= 1);
  CHECK(s["pool"].value("spare_pss_kib", 0) >= 0);
}

TEST_CASE("pool: an untaken spare is retired after the idle time and not replaced") {
  PoolFixture f;
  auto a = std::make_unique<Peer>(std::vector<std::string>{proxy_bin(), "--cache-dir", f.cache, "--pool-idle", "2s", "--",
                                                           sim("lake"), "serve"},
                                  f.ws.root(), f.env());
  a->initialize();
  CHECK(a->shutdown() == 0);
  REQUIRE(f.wait_spare_ready());
  json s;
  for (int i = 0; i < 100; ++i) {
    s = f.stats();
    if (s.is_object() && s["pool"]["retired"].value("idle", 0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(s["pool"]["retired"].value("idle", 0) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  s = f.stats();
  CHECK(s["pool"].value("spawns", 0) == 1);  // not replaced
  CHECK(s["pool"]["servers"].value("spare_ready", 0) == 0);
}

TEST_CASE("pool: the headers it learnt survive a daemon restart (kept with the cache)") {
  PoolFixture f;
  auto a = f.session();
  a->open(f.ws.uri("Main.lean"), "import Demo.B\n#eval b\n", 1);
  REQUIRE(a->wait(f.ws.uri("Main.lean"), 1));
  CHECK(a->shutdown() == 0);
  simtest::run({proxy_bin(), "daemon", "stop", "--cache-dir", f.cache}, f.ws.root(), f.env());
  REQUIRE(f.wait_daemon_gone());  // it saves what it learnt as it ends
  auto warmups = [&] {
    std::size_t n = 0;
    for (const auto& e : simtest::events(f.events, "worker_start"))
      n += e.value("uri", "").find("LeanProxyWarm.lean") != std::string::npos;
    return n;
  };
  auto before = warmups();
  auto b = f.session();  // a new daemon; this session opens nothing
  CHECK(b->shutdown() == 0);
  REQUIRE(f.wait_spare_ready());
  CHECK(warmups() > before);  // its spare still pre-loads the header learnt before the restart
}
