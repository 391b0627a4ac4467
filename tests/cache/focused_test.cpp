// Focused cache tests: persistence, Restart File, stale workers, stale notes, goal/hover answers — each one rule of DESIGN.md "Cache semantics".
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <filesystem>
#include <fstream>

using namespace cachetest;
namespace fs = std::filesystem;

namespace {

const std::string kMainX = "import Demo.B\n#eval b\n";
const std::string kMainY = "import Demo.B\ndef n : Nat := b + 1\ntheorem t : n = 5 := by decide\n";
const std::string kNote = "Imports are out of date";

struct Fixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", log = aux.path + "/proxy.log", events = aux.path + "/events.jsonl";
  std::string main = ws.uri("Main.lean");
  Fixture() { make_workspace(ws); }
  std::unique_ptr<Peer> proxy(std::vector<std::string> extra = {}) {
    return start_proxy(ws.root(), ProxyOpts{cache, log, std::move(extra), {{"LEAN_SIM_EVENTS", events}}});
  }
  int mismatches() const { return count_lines(log, "cache MISMATCH"); }
  long elab_done(const std::string& uri, long version) const {
    long n = 0;
    for (const auto& e : simtest::events(events, "elab_done")) n += e["uri"] == uri && e["version"] == version;
    return n;
  }
};

bool has_note(const json& diags) {
  for (const auto& d : diags)
    if (d.value("message", "").find(kNote) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("persistence: a second proxy session is a hit, and in forward mode the server still elaborates") {
  Fixture f;
  auto p = f.proxy();
  p->open(f.main, kMainX, 1);
  REQUIRE(p->wait(f.main, 1));
  auto first = p->outcome(f.main, 1);
  CHECK_FALSE(first.hit);
  CHECK(p->shutdown() == 0);

  p = f.proxy();
  p->open(f.main, kMainX, 2);
  REQUIRE(p->wait(f.main, 2));  // answered only after verification
  auto second = p->outcome(f.main, 2);
  CHECK(second.hit);
  CHECK(second.publishes == 1);
  CHECK(second.served == first.served);
  CHECK(f.elab_done(f.main, 2) == 1);  // forward mode: the server elaborated the served version too
  CHECK(count_lines(f.log, "cache hit:") >= 1);
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

TEST_CASE("Restart File (didClose + didOpen with dependencyBuildMode once) is never served") {
  Fixture f;
  auto p = f.proxy();
  // Store the text under mode "once" first, so a lookup would find it.
  p->open(f.main, kMainX, 1, "once");
  REQUIRE(p->wait(f.main, 1));
  p->close(f.main);
  p->open(f.main, kMainX, 2, "once");
  REQUIRE(p->wait(f.main, 2));
  CHECK_FALSE(p->outcome(f.main, 2).hit);
  CHECK(f.elab_done(f.main, 2) == 1);
  // vscode-lean4 sends "once" only for Restart File: in a new session too.
  CHECK(p->shutdown() == 0);
  p = f.proxy();
  p->open(f.main, kMainX, 3, "once");
  REQUIRE(p->wait(f.main, 3));
  CHECK_FALSE(p->outcome(f.main, 3).hit);
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

TEST_CASE("imports rebuilt under a running worker: neither served nor stored until the file is restarted") {
  Fixture f;
  auto p = f.proxy();
  p->open(f.main, kMainX, 1, "never");
  REQUIRE(p->wait(f.main, 1));  // stored under the old imports
  // A is changed and rebuilt; the worker keeps the old environment (no watcher
  // notification here: the proxy must see it from the fingerprint alone).
  f.ws.write("Demo/A.lean", kA[1]);
  REQUIRE(f.ws.build() == 0);
  p->change(f.main, 2, kMainX, kMainY);
  REQUIRE(p->wait(f.main, 2));
  CHECK_FALSE(p->outcome(f.main, 2).hit);
  p->change(f.main, 3, kMainY, kMainX);
  REQUIRE(p->wait(f.main, 3));
  auto stale_x = p->outcome(f.main, 3);
  CHECK_FALSE(stale_x.hit);  // old worker, new disk: the result belongs to neither key
  CHECK(p->shutdown() == 0);

  // A fresh worker sees the new A: nothing the stale worker produced may come back.
  p = f.proxy();
  p->open(f.main, kMainX, 4, "never");
  REQUIRE(p->wait(f.main, 4));
  auto fresh = p->outcome(f.main, 4);
  CHECK_FALSE(fresh.hit);
  CHECK(fresh.served != stale_x.served);  // b = 6 now, not 4
  p->close(f.main);
  p->open(f.main, kMainY, 5, "never");
  REQUIRE(p->wait(f.main, 5));
  CHECK_FALSE(p->outcome(f.main, 5).hit);  // Y was only ever checked by the stale worker
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

TEST_CASE("\"Imports are out of date\" versions are never stored (setup error and sticky note)") {
  Fixture f;
  f.ws.write("Demo/A.lean", kA[1]);  // edited, not rebuilt
  auto p = f.proxy();
  p->open(f.main, kMainX, 1, "never");
  REQUIRE(p->wait(f.main, 1));
  auto o = p->outcome(f.main, 1);
  CHECK(has_note(o.served));  // "Imports are out of date and must be rebuilt"
  p->close(f.main);
  p->open(f.main, kMainX, 2, "never");
  REQUIRE(p->wait(f.main, 2));
  CHECK_FALSE(p->outcome(f.main, 2).hit);

  // The sticky note: a worker told that an import changed notes it on every later version.
  REQUIRE(f.ws.build() == 0);
  p->close(f.main);
  p->open(f.main, kMainY, 3, "never");
  REQUIRE(p->wait(f.main, 3));
  f.ws.write("Demo/B.lean", kB[1]);
  p->notify("workspace/didChangeWatchedFiles", {{"changes", json::array({{{"uri", f.ws.uri("Demo/B.lean")}, {"type", 2}}})}});
  f.ws.write("Demo/B.lean", kB[0]);  // reverted: the disk is as the worker loaded it
  p->change(f.main, 4, kMainY, kMainX);
  REQUIRE(p->wait(f.main, 4));
  auto noted = p->outcome(f.main, 4);
  REQUIRE(has_note(noted.last));
  CHECK(p->shutdown() == 0);
  // A fresh worker has no note: if the noted set had been stored it would be served now.
  p = f.proxy();
  p->open(f.main, kMainX, 5, "never");
  REQUIRE(p->wait(f.main, 5));
  CHECK_FALSE(has_note(p->outcome(f.main, 5).last));
  CHECK(p->shutdown() == 0);
}

TEST_CASE("goal and hover answers are cached per document key and position") {
  Fixture f;
  std::string other = f.ws.uri("Other.lean");
  const std::string text = "import Demo.A\ntheorem o : a = 2 := by decide\n#eval a2\n";
  json goal_at{{"textDocument", {{"uri", other}}}, {"position", {{"line", 1}, {"character", 25}}}};
  json hover_at{{"textDocument", {{"uri", other}}}, {"position", {{"line", 2}, {"character", 6}}}};
  std::string traces = f.aux.path + "/traces";
  auto p = f.proxy({"--trace-dir", traces});
  p->open(other, text, 1);
  REQUIRE(p->wait(other, 1));
  json goal1 = p->request("$/lean/plainGoal", goal_at);
  json hover1 = p->request("textDocument/hover", hover_at);
  REQUIRE(goal1.contains("result"));
  CHECK_FALSE(goal1["result"].is_null());  // inside the `by` block: a goal
  CHECK_FALSE(hover1["result"].is_null());
  CHECK(p->shutdown() == 0);
  fs::remove_all(traces);

  p = f.proxy({"--trace-dir", traces});
  p->open(other, text, 2);
  REQUIRE(p->wait(other, 2));
  CHECK(p->outcome(other, 2).hit);
  json goal2 = p->request("$/lean/plainGoal", goal_at);
  json hover2 = p->request("textDocument/hover", hover_at);
  CHECK(goal2["result"] == goal1["result"]);
  CHECK(hover2["result"] == hover1["result"]);
  CHECK(p->shutdown() == 0);
  // Answered by the proxy: the second session's server never saw those requests.
  int forwarded = 0;
  for (const auto& e : fs::directory_iterator(traces)) {
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);)
      forwarded += line.find("\"dir\":\"proxy->server\"") != std::string::npos &&
                   (line.find("$/lean/plainGoal") != std::string::npos || line.find("textDocument/hover") != std::string::npos);
  }
  CHECK(forwarded == 0);
}

TEST_CASE("--on-hit=lazy: a hit starts no worker, and a request that needs the server opens it there first") {
  Fixture f;
  std::string other = f.ws.uri("Other.lean");
  const std::string text = "import Demo.A\ntheorem o : a = 2 := by decide\n#eval a2\n";
  auto worker_starts = [&](long version) {
    long n = 0;
    for (const auto& e : simtest::events(f.events, "worker_start")) n += e["uri"] == other && e["version"] == version;
    return n;
  };
  auto p = f.proxy({"--on-hit", "lazy"});
  p->open(other, text, 1);  // a miss: the server gets it
  REQUIRE(p->wait(other, 1));
  CHECK_FALSE(p->outcome(other, 1).hit);
  p->close(other);

  p->open(other, text, 2);
  REQUIRE(p->wait(other, 2));  // answered at once
  auto served = p->outcome(other, 2);
  CHECK(served.hit);
  CHECK(served.served == p->outcome(other, 1).served);
  CHECK(worker_starts(2) == 0);  // the server never saw version 2
  CHECK(f.elab_done(other, 2) == 0);

  // documentSymbol is not cached: the proxy opens the document on the server first.
  json symbols = p->request("textDocument/documentSymbol", {{"textDocument", {{"uri", other}}}});
  CHECK(symbols.contains("result"));
  // Now that the server has it, the hit is verified as in forward mode.
  auto verified = [&] {
    json stats = p->request("workspace/executeCommand", {{"command", "leanProxy.cache.stats"}});
    return stats["result"].value("verified_hits", 0);
  };
  for (int i = 0; i < 50 && verified() == 0; ++i) p->drain(100);
  CHECK(verified() == 1);
  CHECK(worker_starts(2) == 1);
  CHECK(p->outcome(other, 2).publishes == 1);  // the server's own publishes for it were held back
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}
