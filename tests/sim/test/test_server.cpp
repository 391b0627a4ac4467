// Protocol tests against `lean --server`: shapes, ordering, worker processes,
// faults. Each test asserts on messages and on the event log, never on time.
#include <doctest/doctest.h>

#include "driver.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace simtest;

namespace {

const std::string kGoals =
    "theorem foo : True := by\n  exact True.intro\n--^ collectDiagnostics\n\n"
    "theorem foobar : True := True.intro\n--^ collectDiagnostics\n\n"
    "example : True := True.intro\n--^ collectDiagnostics\n";

json pos(int l, int c) { return {{"line", l}, {"character", c}}; }
json range(int l0, int c0, int l1, int c1) { return {{"start", pos(l0, c0)}, {"end", pos(l1, c1)}}; }

struct Fixture {
  TempDir dir;
  std::string events = dir.path + "/events.jsonl";
  Env env(Env extra = {}) const {
    extra["LEAN_SIM_EVENTS"] = events;
    return extra;
  }
};

bool alive(int pid) { return ::kill(pid, 0) == 0; }

long session_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto rp = s.rfind(')');
  long ppid = 0, pgrp = 0, sid = 0;
  char state;
  std::sscanf(s.c_str() + rp + 2, "%c %ld %ld %ld", &state, &ppid, &pgrp, &sid);
  return sid;
}

}  // namespace

TEST_CASE("initialize / register_lean_watcher / shutdown / requests after shutdown") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  auto r = s.request("initialize", {{"capabilities", json::object()}});
  const json& res = r.back()["result"];
  CHECK(res["serverInfo"] == json{{"name", "Lean 4 Server"}, {"version", "0.3.0"}});
  CHECK(res["capabilities"]["textDocumentSync"]["change"] == 2);
  CHECK(res["capabilities"]["textDocumentSync"]["save"] == json{{"includeText", true}});
  CHECK_FALSE(res["capabilities"].contains("executeCommandProvider"));
  s.send({{"method", "initialized"}, {"params", json::object()}});
  auto reg = s.until([](const json& m) { return m.contains("method"); });
  CHECK(reg.back()["id"] == "register_lean_watcher");
  CHECK(reg.back()["method"] == "client/registerCapability");
  const json& w = reg.back()["params"]["registrations"][0];
  CHECK(w["method"] == "workspace/didChangeWatchedFiles");
  CHECK(w["registerOptions"]["watchers"] ==
        json::array({{{"globPattern", "**/*.lean"}}, {{"globPattern", "**/*.ilean"}}}));
  s.send({{"id", "register_lean_watcher"}, {"result", nullptr}});
  s.send({{"method", "$/unknown/thing"}, {"params", json::object()}});  // ignored
  CHECK(s.request("foo/bar", json::object()).back()["error"]["code"] == -32601);
  CHECK(s.request("shutdown", nullptr).back()["result"].is_null());
  CHECK(s.request("textDocument/hover", json::object()).back()["error"]["code"] == -32600);
  s.send({{"method", "exit"}});
  CHECK(s.wait_exit() == 0);
}

TEST_CASE("a notification without params is fatal / as in Lean") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  s.send({{"method", "textDocument/didSave"}});
  CHECK(s.wait_exit() == 1);
}

TEST_CASE("goalsAccomplished through the server: golden publish / current order / waitForDiagnostics last") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize(true);
  std::string uri = "file:///goalsAccomplished.lean";
  s.open(uri, kGoals);
  auto msgs = s.wait_diags(uri, 1);
  auto pubs = publishes(msgs, 1);
  REQUIRE(pubs.size() >= 2);
  CHECK(pubs.front()["diagnostics"].empty());  // the first publish of a version is empty
  json expected = json::parse(R"({"version": 1, "uri": "file:///goalsAccomplished.lean",
    "diagnostics": [
      {"source": "Lean 4", "severity": 3,
       "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
       "message": "Goals accomplished!", "leanTags": [2], "isSilent": true,
       "fullRange": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 18}}},
      {"source": "Lean 4", "severity": 3,
       "range": {"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 35}},
       "message": "Goals accomplished!", "leanTags": [2], "isSilent": true,
       "fullRange": {"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 35}}},
      {"source": "Lean 4", "severity": 3,
       "range": {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 28}},
       "message": "Goals accomplished!", "leanTags": [2], "isSilent": true,
       "fullRange": {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 28}}}]})");
  CHECK(pubs.back() == expected);
  // Current Lean: `processing: []`, then the final publish, then the reply.
  REQUIRE(msgs.size() >= 3);
  CHECK(is_progress_done(msgs[msgs.size() - 3]));
  CHECK(msgs[msgs.size() - 2]["method"] == "textDocument/publishDiagnostics");
}

TEST_CASE("old order switch: final publish before processing done") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env({{"LEAN_SIM_OLD_ORDER", "1"}}));
  s.initialize(true);
  s.open("file:///a.lean", kGoals);
  auto msgs = s.wait_diags("file:///a.lean", 1);
  REQUIRE(msgs.size() >= 3);
  CHECK(msgs[msgs.size() - 3]["method"] == "textDocument/publishDiagnostics");
  CHECK(is_progress_done(msgs[msgs.size() - 2]));
}

TEST_CASE("silent diagnostics are omitted without silentDiagnosticSupport") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize(false);
  s.open("file:///a.lean", kGoals);
  auto pubs = publishes(s.wait_diags("file:///a.lean", 1));
  REQUIRE(!pubs.empty());
  for (const auto& p : pubs) CHECK(p["diagnostics"].empty());
}

TEST_CASE("editAfterError: one version is published empty / partial / full") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  std::string uri = "file:///editAfterError.lean";
  s.open(uri, "#check tru\n#check fal\n        --^ insert: s\n        --^ collectDiagnostics\n");
  s.wait_diags(uri, 1);
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", 2}}},
                      {"contentChanges", json::array({{{"text", "s"}, {"range", range(1, 10, 1, 11)}}})}}}});
  auto pubs = publishes(s.wait_diags(uri, 2), 2);
  REQUIRE(pubs.size() == 3);
  CHECK(pubs[0]["diagnostics"].empty());
  REQUIRE(pubs[1]["diagnostics"].size() == 1);
  CHECK(pubs[1]["diagnostics"][0]["message"] == "unknown identifier 'tru'");
  REQUIRE(pubs[2]["diagnostics"].size() == 2);
  CHECK(pubs[2]["diagnostics"][1]["message"] == "unknown identifier 'fals'");
  CHECK(pubs[2]["diagnostics"][1]["range"] == range(1, 7, 1, 11));
  CHECK(pubs[2]["diagnostics"][1]["fullRange"] == range(1, 7, 1, 11));
}

TEST_CASE("plainGoal / plainTermGoal / hover / documentSymbol / rpc/connect / closed files") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  std::string uri = "file:///g.lean";
  s.open(uri, "def n : Nat := 2\ntheorem t : n + 2 = 4 := by\n  decide\n");
  s.wait_diags(uri, 1);
  auto goal = [&](int l, int c) {
    return s.request("$/lean/plainGoal", {{"textDocument", {{"uri", uri}}}, {"position", pos(l, c)}}).back()["result"];
  };
  CHECK(goal(1, 26) == json{{"rendered", "```lean\n⊢ n + 2 = 4\n```"}, {"goals", {"⊢ n + 2 = 4"}}});
  CHECK(goal(2, 8) == json{{"rendered", "no goals"}, {"goals", json::array()}});
  CHECK(goal(0, 3).is_null());
  auto tg = s.request("$/lean/plainTermGoal", {{"textDocument", {{"uri", uri}}}, {"position", pos(1, 12)}});
  CHECK(tg.back()["result"] == json{{"goal", "⊢ Nat"}, {"range", range(1, 12, 1, 13)}});
  auto hv = s.request("textDocument/hover", {{"textDocument", {{"uri", uri}}}, {"position", pos(0, 4)}});
  CHECK(hv.back()["result"]["contents"]["value"] == "```lean\nn : Nat\n```");
  auto sym = s.request("textDocument/documentSymbol", {{"textDocument", {{"uri", uri}}}});
  REQUIRE(sym.back()["result"].size() == 2);
  CHECK(sym.back()["result"][1]["name"] == "t");
  auto rpc = s.request("$/lean/rpc/connect", {{"uri", uri}}).back()["result"]["sessionId"];
  REQUIRE(rpc.is_string());  // a UInt64, written as a decimal string
  CHECK(rpc.get<std::string>().find_first_not_of("0123456789") == std::string::npos);
  auto call = s.request("$/lean/rpc/call", {{"textDocument", {{"uri", uri}}}, {"position", pos(1, 26)},
                                            {"sessionId", rpc}, {"method", "Lean.Widget.getInteractiveGoals"},
                                            {"params", json::object()}});
  CHECK(call.back()["result"]["goals"][0]["type"]["text"] == "n + 2 = 4");
  auto closed = s.request("$/lean/plainGoal", {{"textDocument", {{"uri", "file:///nope.lean"}}}, {"position", pos(0, 0)}});
  CHECK(closed.back()["error"] == json{{"code", -32801}, {"message", "Cannot process request to closed file 'file:///nope.lean'"}});
}

TEST_CASE("one worker process per document / in its own session - header edits restart it") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  s.open("file:///a.lean", "import Std\ndef a : Nat := Std.answer\n");
  s.open("file:///b.lean", "def b : Nat := 1\n");
  s.wait_diags("file:///a.lean", 1);
  s.wait_diags("file:///b.lean", 1);
  auto starts = events(f.events, "worker_start");
  REQUIRE(starts.size() == 2);
  CHECK(starts[0]["pid"] != starts[1]["pid"]);
  for (const auto& w : starts) CHECK(w["sid"] == w["pid"]);  // setsid
  CHECK(session_of(starts[0]["pid"]) == starts[0]["pid"].get<long>());
  size_t imports = events(f.events, "import").size();
  CHECK(imports == 3);  // Std, Init, Init.Prelude
  // A body edit reuses the process and its imports.
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", "file:///a.lean"}, {"version", 2}}},
                      {"contentChanges", json::array({{{"text", "def c : Nat := 3\n"}, {"range", range(2, 0, 2, 0)}}})}}}});
  s.wait_diags("file:///a.lean", 2);
  CHECK(events(f.events, "worker_start").size() == 2);
  CHECK(events(f.events, "import").size() == imports);
  // A header edit: the worker exits with code 2 and a fresh one re-imports.
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", "file:///a.lean"}, {"version", 3}}},
                      {"contentChanges", json::array({{{"text", "Init"}, {"range", range(0, 7, 0, 10)}}})}}}});
  s.wait_diags("file:///a.lean", 3);
  CHECK(s.last_publish("file:///a.lean", 3)["diagnostics"][0]["message"] == "unknown identifier 'Std.answer'");
  auto exits = events(f.events, "worker_exited");
  REQUIRE(exits.size() == 1);
  CHECK(exits[0]["code"] == 2);
  CHECK(events(f.events, "worker_start").size() == 3);
  CHECK(events(f.events, "import").size() == imports + 2);  // Init, Init.Prelude
  // didClose kills the worker and publishes an empty set.
  long pid_b = starts[1]["pid"];
  s.send({{"method", "textDocument/didClose"}, {"params", {{"textDocument", {{"uri", "file:///b.lean"}}}}}});
  auto closed = s.until([](const json& m) { return m.value("method", "") == "textDocument/publishDiagnostics"; });
  CHECK(closed.back()["params"] == json{{"uri", "file:///b.lean"}, {"diagnostics", json::array()}});
  for (int i = 0; i < 200 && alive(pid_b); ++i) ::usleep(10000);
  CHECK_FALSE(alive(pid_b));
}

TEST_CASE("a crashed worker: fileProgress kind 2 / workerCrashed / restart on the next edit") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  std::string uri = "file:///c.lean";
  s.open(uri, "def a : Nat := 1\n-- sim: crash\n");
  auto m = s.until([](const json& x) {
    return x.value("method", "") == "$/lean/fileProgress" && !x["params"]["processing"].empty() &&
           x["params"]["processing"][0]["kind"] == 2;
  });
  auto r = s.request("$/lean/plainGoal", {{"textDocument", {{"uri", uri}}}, {"position", pos(0, 0)}});
  CHECK(r.back()["error"]["code"] == -32902);
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", 2}}},
                      {"contentChanges", json::array({{{"text", "def a : Nat := 2\n"}}})}}}});
  auto pubs = publishes(s.wait_diags(uri, 2), 2);
  CHECK(!pubs.empty());
  CHECK(events(f.events, "worker_start").size() == 2);
}

TEST_CASE("cancelling a waitForDiagnostics answers requestCancelled") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  std::string uri = "file:///slow.lean";
  s.open(uri, "def a : Nat := 1 -- sim: sleep 3000\n");
  s.send({{"id", 7}, {"method", "textDocument/waitForDiagnostics"}, {"params", {{"uri", uri}, {"version", 1}}}});
  s.send({{"method", "$/cancelRequest"}, {"params", {{"id", 7}}}});
  auto r = s.until([](const json& m) { return m.value("id", json()) == 7; });
  CHECK(r.back()["error"]["code"] == -32800);
}

TEST_CASE("seeded reorder: a superseded version's publish arrives after a newer one's") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path,
           f.env({{"LEAN_SIM_REORDER_SEED", "7"}, {"LEAN_SIM_REORDER_PCT", "100"}, {"LEAN_SIM_ELAB_MS", "40"}}));
  s.initialize();
  std::string uri = "file:///r.lean";
  s.open(uri, "#check x1\n#check x2\n#check x3\n#check x4\n#check x5\n");
  s.until([](const json& m) {  // version 1 has published a partial set
    return m.value("method", "") == "textDocument/publishDiagnostics" && !m["params"]["diagnostics"].empty();
  });
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", 2}}},
                      {"contentChanges", json::array({{{"text", "#check y\n"}}})}}}});
  auto msgs = s.wait_diags(uri, 2);
  bool newer_seen = false, late_old = false;
  for (const auto& p : publishes(msgs)) {
    if (p["version"] == 2) newer_seen = true;
    if (p["version"] == 1 && newer_seen) late_old = true;
  }
  CHECK(late_old);
}

TEST_CASE("fault switches: watchdog crash after N messages takes its workers along - malformed frame") {
  Fixture f;
  {
    Server s({bin("lean"), "--server"}, f.dir.path, f.env({{"LEAN_SIM_CRASH_AFTER", "5"}}));
    s.initialize();
    s.open("file:///a.lean", "def a : Nat := 1\n");
    s.wait_diags("file:///a.lean", 1);
    s.send({{"id", 1}, {"method", "textDocument/hover"}, {"params", json::object()}});
    CHECK(s.wait_exit() == 128 + SIGABRT);
    long wpid = events(f.events, "worker_start").at(0)["pid"];
    for (int i = 0; i < 200 && alive(wpid); ++i) ::usleep(10000);
    CHECK_FALSE(alive(wpid));  // PR_SET_PDEATHSIG
  }
  Server s({bin("lean"), "--server"}, f.dir.path, f.env({{"LEAN_SIM_MALFORMED_AFTER", "1"}}));
  s.send({{"id", 1}, {"method", "initialize"}, {"params", {{"capabilities", json::object()}}}});
  CHECK(s.recv().has_value());   // the initialize reply
  CHECK_FALSE(s.recv(300).has_value());
  CHECK(s.malformed() == 1);  // then a frame whose body is not JSON
}
