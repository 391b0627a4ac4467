// `lean-lsp-proxy check`: Lean-style output, exit codes, --json, and the
// daemon's warm documents shared across CLI runs.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

using namespace cachetest;

namespace {

const std::string kGood = "import Demo.A\ntheorem t : a = 2 := by decide\n";
const std::string kSorry = "import Demo.A\ntheorem s : a = 2 := sorry\n";

struct Cli {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", events = aux.path + "/events.jsonl";
  Cli() {
    make_workspace(ws);
    ws.write("Demo/Good.lean", kGood);
    ws.write("Demo/Sorry.lean", kSorry);
  }
  // Runs the CLI in the workspace; stdout and stderr together.
  simtest::RunResult run(const std::string& args, bool daemon = false) const {
    Env env{{"LEAN_SIM_EVENTS", events},
            {"LEAN_LSP_PROXY_NO_DAEMON", daemon ? "0" : "1"},
            {"LEAN_LSP_PROXY_RUNTIME_DIR", aux.path + "/run"}};
    std::string cmd = "'" + proxy_bin() + "' check --cache-dir '" + cache + "' " + args + " 2>&1";
    return simtest::run({"/bin/sh", "-c", cmd}, ws.root(), sim_env(env));
  }
  void stop_daemon() const {
    simtest::run({proxy_bin(), "daemon", "stop", "--cache-dir", cache}, ws.root(),
                 {{"LEAN_LSP_PROXY_RUNTIME_DIR", aux.path + "/run"}});
  }
};

}  // namespace

TEST_CASE("cli: Lean-style diagnostics and exit codes") {
  Cli c;
  auto ok = c.run("Demo/Good.lean");
  CHECK_MESSAGE(ok.code == 0, ok.out);
  CHECK(ok.out.find("Demo/Good.lean: ok") != std::string::npos);

  auto bad = c.run("Demo/Good.lean Demo/Sorry.lean");
  CHECK_MESSAGE(bad.code == 1, bad.out);
  CHECK(bad.out.find("Demo/Sorry.lean:2:8: warning: declaration uses 'sorry'") != std::string::npos);
  CHECK(bad.out.find("Demo/Sorry.lean: NOT ok") != std::string::npos);
  CHECK(bad.out.find("uses sorry") != std::string::npos);

  auto missing = c.run("Demo/Nope.lean");
  CHECK(missing.code == 1);
  CHECK(missing.out.find("cannot read") != std::string::npos);

  auto none = c.run("");
  CHECK(none.code == 2);

  auto stdin_run = simtest::run({"/bin/sh", "-c", "printf 'import Demo.A\\n#eval a\\n' | '" + proxy_bin() +
                                                      "' check --no-daemon --cache off - 2>&1"},
                                c.ws.root(), sim_env({}));
  CHECK_MESSAGE(stdin_run.code == 0, stdin_run.out);
  CHECK(stdin_run.out.find("<stdin>:2:0: info: 2") != std::string::npos);
}

TEST_CASE("cli: --json gives one object per file, and a repeat comes from the cache") {
  Cli c;
  auto first = c.run("--json Demo/Good.lean Demo/Sorry.lean");
  CHECK(first.code == 1);
  auto j = json::parse(first.out.substr(first.out.find('[')), nullptr, false);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[0]["file"] == "Demo/Good.lean");
  CHECK(j[0]["ok"] == true);
  CHECK(j[1]["ok"] == false);
  CHECK(j[0]["cached"] == false);
  auto again = c.run("--json Demo/Good.lean");
  auto k = json::parse(again.out.substr(again.out.find('[')), nullptr, false);
  REQUIRE(k.is_array());
  CHECK(k[0]["cached"] == true);
}

TEST_CASE("cli through the daemon: warm documents outlive the CLI run that made them") {
  Cli c;
  auto first = c.run("--cache off Demo/Good.lean", true);
  CHECK_MESSAGE(first.code == 0, first.out);
  auto imports = simtest::events(c.events, "import").size();
  auto servers = simtest::events(c.events, "server_start").size();
  CHECK(imports > 0);
  // Another run, another body under the same header: no server start, no import.
  c.ws.write("Demo/Good2.lean", "import Demo.A\n#eval a + 40\n");
  auto second = c.run("--cache off Demo/Good2.lean", true);
  CHECK_MESSAGE(second.code == 0, second.out);
  CHECK(second.out.find("Demo/Good2.lean:2:0: info: 42") != std::string::npos);
  CHECK(simtest::events(c.events, "import").size() == imports);
  CHECK(simtest::events(c.events, "server_start").size() == servers);
  c.stop_daemon();
}
