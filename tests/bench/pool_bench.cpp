// Warm pool benchmark: time to first diagnostics for a new editor session
// through the daemon, a cold server (pool off) vs a warm spare, with the
// simulator's realistic preset; and the server start / import work each paid,
// from the simulator's event log. Quick mode (CTest) runs 2 sessions of each;
// LLP_BENCH_LONG=1 runs 10. Wrong results fail it; timings only print.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

using namespace cachetest;
using Clock = std::chrono::steady_clock;

namespace {

bool g_long = false;

struct Daemon {
  const Workspace& ws;
  std::string cache, run, events;
  std::vector<std::string> options;
  Env extra;
  Env env() const {
    Env e = extra;
    e["LEAN_SIM_EVENTS"] = events;
    e["LEAN_LSP_PROXY_NO_DAEMON"] = "0";
    e["LEAN_LSP_PROXY_RUNTIME_DIR"] = run;
    return sim_env(e);
  }
  ~Daemon() { simtest::run({proxy_bin(), "daemon", "stop", "--cache-dir", cache}, ws.root(), env()); }
  json stats() const {
    auto r = simtest::run({proxy_bin(), "stats", "--json", "--cache-dir", cache}, ws.root(), env());
    return json::parse(r.out, nullptr, false);
  }
  std::size_t count(const std::string& kind, const std::string& uri = {}) const {
    std::size_t n = 0;
    for (const auto& e : simtest::events(events, kind)) n += uri.empty() || e.value("uri", "") == uri;
    return n;
  }
  // One editor session: start the proxy, initialize, open a file, wait for
  // its diagnostics. Returns the milliseconds to the final publish; adds the
  // servers started for it (counted once it is initialized: the pool's
  // replacement spare starts later, in the background) and the imports its
  // file's worker loaded.
  double session(const std::string& text, std::size_t* starts = nullptr, std::size_t* imports = nullptr) const {
    std::size_t starts0 = count("server_start"), imports0 = count("import", ws.uri("Main.lean"));
    std::vector<std::string> argv{proxy_bin(), "--cache", "off", "--cache-dir", cache};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"--", sim("lake"), "serve"});
    auto t0 = Clock::now();
    Peer p(argv, ws.root(), env());
    p.initialize();
    if (starts) *starts += count("server_start") - starts0;
    std::string uri = ws.uri("Main.lean");
    p.open(uri, text, 1);
    REQUIRE(p.wait(uri, 1, 120000));
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    auto out = p.outcome(uri, 1);
    CHECK(out.last.dump().find("\"4\"") != std::string::npos);  // `#eval b` really ran
    CHECK(p.shutdown() == 0);
    if (imports) *imports += count("import", uri) - imports0;
    return ms;
  }
  bool wait_ready(int ms = 120000) const {
    for (int waited = 0; waited < ms; waited += 100) {
      json s = stats();
      if (s.is_object() && s["pool"]["servers"].value("spare_ready", 0) >= 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

TEST_CASE("pool bench: time to first diagnostics, cold server vs warm spare") {
  Workspace ws;
  make_workspace(ws);
  simtest::TempDir aux;
  Env preset = g_long ? Env{{"LEAN_SIM_STARTUP_MS", "300"}, {"LEAN_SIM_IMPORT_MS", "2000"}, {"LEAN_SIM_ELAB_MS", "50"}}
                      : Env{{"LEAN_SIM_STARTUP_MS", "300"}, {"LEAN_SIM_IMPORT_MS", "200"}, {"LEAN_SIM_ELAB_MS", "20"}};
  int n = g_long ? 10 : 2;
  const std::string text = "import Demo.B\n#eval b\n";

  Daemon cold{ws, aux.path + "/cold-cache", aux.path + "/cold-run", aux.path + "/cold.jsonl", {"--pool-spares", "0"}, preset};
  std::vector<double> cold_ms;
  std::size_t cold_starts = 0, cold_imports = 0;
  for (int i = 0; i < n; ++i) cold_ms.push_back(cold.session(text, &cold_starts, &cold_imports));

  Daemon warm{ws, aux.path + "/warm-cache", aux.path + "/warm-run", aux.path + "/warm.jsonl", {}, preset};
  warm.session(text);  // teaches the pool this key and header
  std::vector<double> warm_ms;
  std::size_t starts_paid = 0, imports_paid = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(warm.wait_ready());
    // Its file's own worker still imports (Lean runs a worker per file); the
    // server start is what the spare saves, with Lake's workspace load.
    warm_ms.push_back(warm.session(text, &starts_paid, &imports_paid));
  }
  json s = warm.stats();
  CHECK(s["pool"].value("attaches_warm", 0) == n);

  std::printf("\npool_bench (%s): %d editor sessions each, through the daemon; sim startup %s ms, import %s ms/module\n",
              g_long ? "long" : "quick", n, preset["LEAN_SIM_STARTUP_MS"].c_str(), preset["LEAN_SIM_IMPORT_MS"].c_str());
  std::printf("%-34s %12s %12s %14s %14s\n", "session", "p50 ms", "max ms", "server starts", "file imports");
  std::printf("%-34s %12.1f %12.1f %14zu %14zu\n", "cold server (--pool-spares 0)", median(cold_ms),
              *std::max_element(cold_ms.begin(), cold_ms.end()), cold_starts, cold_imports);
  std::printf("%-34s %12.1f %12.1f %14zu %14zu\n", "warm spare", median(warm_ms),
              *std::max_element(warm_ms.begin(), warm_ms.end()), starts_paid, imports_paid);
  double saved = median(cold_ms) - median(warm_ms);
  std::printf("a warm spare saves %.1f ms of %.1f ms to first diagnostics (%.0f%%); spare cold start %.0f ms\n", saved,
              median(cold_ms), 100.0 * saved / median(cold_ms), s["pool"].value("cold_start_ms", 0.0));
  std::printf("{\"cold_p50_ms\":%.1f,\"warm_p50_ms\":%.1f,\"sessions\":%d}\n", median(cold_ms), median(warm_ms), n);
}

int main(int argc, char** argv) {
  const char* env = std::getenv("LLP_BENCH_LONG");
  g_long = env && std::string(env) == "1";
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--long") == 0) g_long = true;
    else if (std::strcmp(argv[i], "--quick") == 0) g_long = false;
    else rest.push_back(argv[i]);
  }
  doctest::Context ctx(static_cast<int>(rest.size()), rest.data());
  return ctx.run();
}
