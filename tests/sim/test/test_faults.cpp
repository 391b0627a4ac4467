// Worker faults (hang, slow replies, memory exhaustion) and elan's `+toolchain` argument.
#include <doctest/doctest.h>

#include "driver.hpp"

#include <signal.h>
#include <unistd.h>

using namespace simtest;

namespace {

json pos(int l, int c) { return {{"line", l}, {"character", c}}; }

json hover_at(const std::string& uri, int l, int c) {
  return {{"textDocument", {{"uri", uri}}}, {"position", pos(l, c)}};
}

struct Fixture {
  TempDir dir;
  std::string events = dir.path + "/events.jsonl";
  Env env(Env extra = {}) const {
    extra["LEAN_SIM_EVENTS"] = events;
    return extra;
  }
  /// Waits (without asserting on time) for an event the worker logs.
  std::vector<json> wait_event(const std::string& kind) const {
    for (int i = 0; i < 500; ++i) {
      auto e = simtest::events(events, kind);
      if (!e.empty()) return e;
      ::usleep(10000);
    }
    FAIL("no '" << kind << "' event");
    return {};
  }
};

}  // namespace

TEST_CASE("-- sim: hang: requests are still answered / waitForDiagnostics never is until cancelled") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env());
  s.initialize();
  std::string uri = "file:///hang.lean";
  s.open(uri, "def a : Nat := 1\n#check zz\ndef b : Nat := 2 -- sim: hang\n");
  auto partial = s.until([](const json& m) {
    return m.value("method", "") == "textDocument/publishDiagnostics" && !m["params"]["diagnostics"].empty();
  });
  CHECK(partial.back()["params"]["diagnostics"][0]["message"] == "unknown identifier 'zz'");
  f.wait_event("worker_hang");
  auto hv = s.request("textDocument/hover", hover_at(uri, 0, 4));
  CHECK(hv.back()["result"]["contents"]["value"] == "```lean\na : Nat\n```");
  s.send({{"id", 9}, {"method", "textDocument/waitForDiagnostics"}, {"params", {{"uri", uri}, {"version", 1}}}});
  CHECK_FALSE(s.recv(300).has_value());  // elaboration never finishes, so no reply
  s.send({{"method", "$/cancelRequest"}, {"params", {{"id", 9}}}});
  auto r = s.until([](const json& m) { return m.value("id", json()) == 9; });
  CHECK(r.back()["error"]["code"] == -32800);
}

TEST_CASE("slow replies: LEAN_SIM_REPLY_DELAY_MS holds answers back / a cancel meanwhile wins") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env({{"LEAN_SIM_REPLY_DELAY_MS", "1000"}}));
  s.initialize();
  std::string uri = "file:///slow.lean";
  s.open(uri, "def a : Nat := 1\n");
  s.wait_diags(uri, 1);  // waitForDiagnostics is not delayed: it waits for elaboration instead
  s.send({{"id", 1}, {"method", "textDocument/hover"}, {"params", hover_at(uri, 0, 4)}});
  s.send({{"id", 2}, {"method", "textDocument/hover"}, {"params", hover_at(uri, 0, 4)}});
  CHECK_FALSE(s.recv(200).has_value());  // nothing can arrive before the delay
  s.send({{"method", "$/cancelRequest"}, {"params", {{"id", 1}}}});
  auto msgs = s.until([](const json& m) { return m.value("id", json()) == 2; });
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0]["id"] == 1);
  CHECK(msgs[0]["error"]["code"] == -32800);
  CHECK(msgs[1]["result"]["contents"]["value"] == "```lean\na : Nat\n```");
}

TEST_CASE("-- sim: exhaust-memory: the worker allocates up to its RLIMIT_AS cap and dies like an OOM kill") {
  Fixture f;
  Server s({bin("lean"), "--server"}, f.dir.path, f.env({{"LEAN_SIM_MEMORY_LIMIT_MB", "32"}}));
  s.initialize();
  std::string uri = "file:///oom.lean";
  s.open(uri, "def a : Nat := 1\ndef b : Nat := 2 -- sim: exhaust-memory\n");
  s.until([](const json& m) {
    return m.value("method", "") == "$/lean/fileProgress" && !m["params"]["processing"].empty() &&
           m["params"]["processing"][0]["kind"] == 2;
  });
  auto oom = f.wait_event("worker_oom");
  long mb = oom[0]["allocated_mb"];
  CHECK(mb >= 8);
  CHECK(mb <= 32);  // never more than the cap
  auto exited = f.wait_event("worker_exited");
  CHECK(exited[0]["code"] == 128 + SIGKILL);
  CHECK(s.request("$/lean/plainGoal", hover_at(uri, 0, 0)).back()["error"]["code"] == -32902);
  // The next edit restarts the worker, as after any crash.
  s.send({{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", 2}}},
                      {"contentChanges", json::array({{{"text", "def a : Nat := 1\n"}}})}}}});
  s.wait_diags(uri, 2);
  CHECK(events(f.events, "worker_start").size() == 2);
}

TEST_CASE("elan's +toolchain argument is accepted and ignored by lean and lake") {
  Fixture f;
  f.dir.write("lakefile.toml", "name = \"demo\"\n");
  const std::string tc = "+leanprover/lean4:v4.28.0";
  CHECK(run({bin("lean"), tc, "--version"}, f.dir.path).out.rfind("Lean (version 4.", 0) == 0);
  CHECK(run({bin("lake"), tc, "--version"}, f.dir.path).out.rfind("Lake version ", 0) == 0);
  for (auto argv : {std::vector<std::string>{bin("lake"), tc, "serve", "--", f.dir.path},
                    std::vector<std::string>{bin("lean"), tc, "--server", f.dir.path}}) {
    Server s(argv, f.dir.path, f.env());
    s.initialize();
    std::string uri = f.dir.uri("T.lean");
    s.open(uri, "#eval 6 * 7\n");
    s.wait_diags(uri, 1);
    CHECK(s.last_publish(uri, 1)["diagnostics"][0]["message"] == "42");
  }
}
