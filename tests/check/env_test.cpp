// The environment manager: `lean-lsp-proxy env optimize` (in-process and
// through the daemon) and `leanProxy.environment.*` in an LSP session, against
// the simulator's `lake exe cache get` and `lake build`.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <filesystem>

using namespace cachetest;

namespace {

const std::string kManifest =
    R"({"version": "1.1.0", "packagesDir": ".lake/packages", "packages": [{"name": "mathlib", "type": "git", "url": "https://github.com/leanprover-community/mathlib4", "rev": "0", "inherited": false}], "name": "demo"})";

struct EnvFixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", events = aux.path + "/events.jsonl", run_dir = aux.path + "/run";
  explicit EnvFixture(bool mathlib = true) {
    make_workspace(ws);
    if (mathlib) ws.write("lake-manifest.json", kManifest);
    ws.write("Demo/C.lean", "import Demo.A\ndef c : Nat := a + 1\n");  // not built yet
  }
  ~EnvFixture() {
    simtest::run({proxy_bin(), "daemon", "stop", "--cache-dir", cache}, ws.root(),
                 {{"LEAN_LSP_PROXY_RUNTIME_DIR", run_dir}});
  }
  Env env(bool daemon) const {
    return sim_env({{"LEAN_SIM_EVENTS", events},
                    {"LEAN_LSP_PROXY_NO_DAEMON", daemon ? "0" : "1"},
                    {"LEAN_LSP_PROXY_RUNTIME_DIR", run_dir}});
  }
  // The CLI in the workspace; `out` holds stdout, stderr goes to `err_file`.
  simtest::RunResult cli(const std::string& args, bool daemon = false) const {
    std::string cmd = "'" + proxy_bin() + "' " + args + " --cache-dir '" + cache + "' 2>'" + aux.path + "/stderr'";
    return simtest::run({"/bin/sh", "-c", cmd}, ws.root(), env(daemon));
  }
  std::string err() const { return slurp(aux.path + "/stderr"); }
  // Index of the first event of `kind` in the log (-1: none).
  long first(const std::string& kind) const {
    auto all = simtest::events(events);
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].value("ev", "") == kind) return static_cast<long>(i);
    return -1;
  }
};

bool has_line(const json& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.is_string() && l.get<std::string>().find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("env: optimize in a Mathlib workspace gets the cache, then builds") {
  EnvFixture f;
  auto r = f.cli("env optimize --no-daemon --json");
  CHECK_MESSAGE(r.code == 0, r.out << f.err());
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["ok"] == true);
  CHECK(j["root"] == std::filesystem::canonical(f.ws.root()).string());
  REQUIRE(j["steps"].size() == 2);
  CHECK(j["steps"][0]["argv"] == json::array({"lake", "exe", "cache", "get"}));
  CHECK(j["steps"][0]["exitCode"] == 0);
  CHECK(j["steps"][1]["argv"] == json::array({"lake", "build"}));
  CHECK(j["steps"][1]["exitCode"] == 0);
  CHECK(j["durationMs"].is_number());
  CHECK(has_line(j["lastLines"], "Build completed successfully"));
  CHECK_FALSE(j.contains("error"));
  // The simulator saw cache get first, then the build of the new module.
  long get = f.first("cache_get"), build = f.first("build");
  CHECK(get >= 0);
  CHECK(build > get);
  // Plain progress lines on a non-terminal.
  CHECK(f.err().find("Attempting to download") != std::string::npos);

  // Human output.
  auto again = f.cli("env optimize --no-daemon");
  CHECK(again.code == 0);
  CHECK(again.out.find("is up to date (2 steps") != std::string::npos);
}

TEST_CASE("env: without Mathlib only `lake build` runs") {
  EnvFixture f(false);
  auto r = f.cli("env optimize --no-daemon --json");
  CHECK(r.code == 0);
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(j["steps"].size() == 1);
  CHECK(j["steps"][0]["argv"] == json::array({"lake", "build"}));
  CHECK(f.first("cache_get") == -1);
}

TEST_CASE("env: a module that fails to build makes the run fail, with Lake's last lines") {
  EnvFixture f;
  f.ws.write("Demo/Bad.lean", "def x : Nat := nope\n");
  auto r = f.cli("env optimize --no-daemon --json");
  CHECK(r.code == 1);
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["ok"] == false);
  REQUIRE(j["steps"].size() == 2);
  CHECK(j["steps"][1]["exitCode"] == 1);
  CHECK(j["error"].get<std::string>().find("lake build") != std::string::npos);
  CHECK(has_line(j["lastLines"], "unknown identifier 'nope'"));
  // Human output: exit 1, the error and the last lines on stderr.
  auto h = f.cli("env optimize --no-daemon");
  CHECK(h.code == 1);
  std::string err = f.err();
  CHECK(err.find("environment optimize failed") != std::string::npos);
  CHECK(err.find("last output:") != std::string::npos);
  CHECK(err.find("unknown identifier 'nope'") != std::string::npos);
}

TEST_CASE("env: an LSP client with workDoneProgress gets create, begin / report / end, then the result") {
  EnvFixture f;
  std::vector<std::string> argv{proxy_bin(), "--cache", "off", "--", sim("lake"), "serve"};
  Peer p(argv, f.ws.root(), f.env(false));
  p.request("initialize", {{"capabilities", {{"window", {{"workDoneProgress", true}}}}}});
  p.notify("initialized", json::object());
  json reply = p.request("workspace/executeCommand",
                         {{"command", "leanProxy.environment.optimize"}, {"arguments", json::array()}}, 60000);
  REQUIRE(reply.contains("result"));
  CHECK(reply["result"]["ok"] == true);
  CHECK(reply["result"]["steps"].size() == 2);
  std::string token;
  std::vector<std::string> kinds;
  bool percent = false;
  for (const auto& m : p.log()) {
    if (m.value("method", "") == "window/workDoneProgress/create") {
      token = m["params"]["token"].get<std::string>();
      CHECK(m["id"].get<std::string>().rfind("llp:", 0) == 0);
    }
    if (m.value("method", "") == "$/progress") {
      CHECK(m["params"]["token"] == token);  // created first
      kinds.push_back(m["params"]["value"]["kind"]);
      percent |= m["params"]["value"].contains("percentage") && m["params"]["value"]["kind"] == "report";
    }
  }
  CHECK_FALSE(token.empty());
  REQUIRE(kinds.size() >= 3);
  CHECK(kinds.front() == "begin");
  CHECK(kinds[1] == "report");
  CHECK(kinds.back() == "end");
  CHECK(percent);  // `[attempted 3/3 = 100%]`
  // The proxy's own request's reply (null from the client) is not forwarded anywhere; stats has the run.
  json stats = p.request("workspace/executeCommand", {{"command", "leanProxy.environment.stats"}});
  CHECK(stats["result"]["running"] == false);
  CHECK(stats["result"]["last"]["ok"] == true);
  CHECK(stats["result"]["last"]["when"].is_number());
  json bad = p.request("workspace/executeCommand",
                       {{"command", "leanProxy.environment.optimize"}, {"arguments", json::array({42})}});
  CHECK(bad["error"]["code"] == -32602);
  json relative = p.request("workspace/executeCommand", {{"command", "leanProxy.environment.optimize"},
                                                         {"arguments", json::array({{{"root", "Demo"}}})}});
  CHECK(relative["error"]["code"] == -32602);
  CHECK(p.shutdown() == 0);
}

TEST_CASE("env: without workDoneProgress the progress goes to window/logMessage") {
  EnvFixture f(false);
  std::vector<std::string> argv{proxy_bin(), "--cache", "off", "--", sim("lake"), "serve"};
  Peer p(argv, f.ws.root(), f.env(false));
  p.initialize();
  json reply = p.request("workspace/executeCommand", {{"command", "leanProxy.environment.optimize"},
                                                      {"arguments", json::array({{{"root", f.ws.root()}}})}},
                         60000);
  CHECK(reply["result"]["ok"] == true);
  bool logged = false, progress = false;
  for (const auto& m : p.log()) {
    logged |= m.value("method", "") == "window/logMessage" &&
              m["params"]["message"].get<std::string>().find("Build completed") != std::string::npos;
    progress |= m.value("method", "") == "$/progress";
  }
  CHECK(logged);
  CHECK_FALSE(progress);
  CHECK(p.shutdown() == 0);
}

TEST_CASE("env through the daemon: optimize streams progress, and stats records the run") {
  EnvFixture f;
  auto r = f.cli("env optimize", true);
  CHECK_MESSAGE(r.code == 0, r.out << f.err());
  CHECK(r.out.find("is up to date") != std::string::npos);
  CHECK(f.err().find("Decompressing") != std::string::npos);  // progress frames reached the CLI
  CHECK(f.first("cache_get") >= 0);

  auto s = f.cli("stats --json", true);
  REQUIRE(s.code == 0);
  json j = json::parse(s.out, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("environment"));
  CHECK(j["environment"]["runs"] == 1);
  CHECK(j["environment"]["failures"] == 0);
  REQUIRE(j["environment"]["workspaces"].size() == 1);
  CHECK(j["environment"]["workspaces"][0]["last"]["ok"] == true);
  CHECK(j["environment"]["workspaces"][0]["last"]["steps"].size() == 2);

  auto es = f.cli("env stats", true);
  CHECK(es.code == 0);
  CHECK(es.out.find("last run: ok") != std::string::npos);
  auto table = f.cli("stats", true);
  CHECK(table.out.find("Environment runs") != std::string::npos);

  // A failing build through the daemon: exit 1, Lake's lines shown.
  f.ws.write("Demo/Bad.lean", "def x : Nat := nope\n");
  auto bad = f.cli("env optimize", true);
  CHECK(bad.code == 1);
  CHECK(f.err().find("unknown identifier 'nope'") != std::string::npos);
  json k = json::parse(f.cli("stats --json", true).out, nullptr, false);
  CHECK(k["environment"]["runs"] == 2);
  CHECK(k["environment"]["failures"] == 1);
}
