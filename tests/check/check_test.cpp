// $/leanProxy/check through an editor session (in-process proxy): warm
// documents reused by header, verdicts, the cache in front, deadlines, crashes
// and imports rebuilt under a warm document. Costs are asserted on the
// simulator's own event log, never on wall time.
#include <doctest/doctest.h>

#include "check_helpers.hpp"
#include "harness.hpp"
#include "workspace_fixture.hpp"

using namespace cachetest;
using checktest::check;
using checktest::has_message;

namespace {

struct Fixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", log = aux.path + "/proxy.log", events = aux.path + "/events.jsonl";
  Fixture() { make_workspace(ws); }
  std::unique_ptr<Peer> proxy(std::vector<std::string> extra = {}, Env env = {}) {
    env["LEAN_SIM_EVENTS"] = events;
    return start_proxy(ws.root(), ProxyOpts{cache, log, std::move(extra), env});
  }
  std::size_t count(const std::string& kind) const { return simtest::events(events, kind).size(); }
  // Events of the check documents only (the editor session's are not ours).
  std::size_t check_elabs() const {
    std::size_t n = 0;
    for (const auto& e : simtest::events(events, "elab_done"))
      n += e.value("uri", "").find("LeanProxyCheck") != std::string::npos;
    return n;
  }
};


}  // namespace

TEST_CASE("warm documents: a check whose header matches loads no imports and starts no worker") {
  Fixture f;
  auto p = f.proxy({"--cache", "off"});
  json a = check(*p, {{"text", "import Demo.B\n#eval b\n"}});
  CHECK(a["ok"] == true);
  CHECK(a["cached"] == false);
  CHECK(has_message(a["diagnostics"], "4"));
  auto imports = f.count("import"), workers = f.count("worker_start"), servers = f.count("server_start");
  CHECK(imports > 0);

  json b = check(*p, {{"text", "import Demo.B\ntheorem t : b = 4 := by decide\n"}});
  CHECK(b["ok"] == true);
  CHECK(f.count("import") == imports);        // the body changed, the header did not
  CHECK(f.count("worker_start") == workers);  // the same worker
  CHECK(f.count("server_start") == servers);  // the same check server

  // Another header goes to a fresh document (two by default): it pays its imports.
  json c = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
  CHECK(c["ok"] == true);
  CHECK(f.count("import") > imports);
  // …and the first document still holds Demo.B.
  auto imports2 = f.count("import");
  json d = check(*p, {{"header", "import Demo.B"}, {"body", "#eval b + 1\n"}});
  CHECK(has_message(d["diagnostics"], "5"));
  CHECK(f.count("import") == imports2);
  CHECK(p->shutdown() == 0);
}

TEST_CASE("verdicts: errors and sorry are not ok, and say why") {
  Fixture f;
  auto p = f.proxy({"--cache", "off"});
  json s = check(*p, {{"text", "import Demo.A\ntheorem s : a = 2 := sorry\n"}});
  CHECK(s["ok"] == false);
  CHECK(s["reasons"].dump().find("uses sorry") != std::string::npos);
  json e = check(*p, {{"text", "import Demo.A\ntheorem e : a = 3 := by decide\n"}});
  CHECK(e["ok"] == false);
  CHECK(e["reasons"].dump().find("error") != std::string::npos);
  json u = check(*p, {{"text", "import Demo.A\n#eval nope\n"}});
  CHECK(u["ok"] == false);
  CHECK(has_message(u["diagnostics"], "unknown identifier 'nope'"));
  json k = check(*p, {{"text", "import Demo.A\nset_option debug.skipKernelTC true\ntheorem t : a = 2 := by decide\n"}});
  CHECK(k["ok"] == false);
  json bad = p->request("$/leanProxy/check", {{"txt", "x"}});
  REQUIRE(bad.contains("error"));
  CHECK(bad["error"]["code"] == -32602);
  CHECK(bad["error"]["message"].get<std::string>().find("text") != std::string::npos);
}

TEST_CASE("axioms: each named declaration's axioms are reported, and beyond the standard three is not ok") {
  Fixture f;
  auto p = f.proxy();
  const std::string cheat = "import Demo.A\naxiom cheat : a = 3\ntheorem t : a = 3 := cheat\ntheorem u : a = 2 := by simp\n";
  json r = check(*p, {{"text", cheat}});
  CHECK(r["ok"] == false);
  CHECK(r["axioms"] == json::parse(R"({"t":["cheat"],"u":["propext"]})"));
  CHECK(r["reasons"] == json::array({"'t' depends on axioms beyond the standard three: [cheat]"}));
  // The proxy's own #print axioms lines leave no trace in the agent's diagnostics.
  CHECK_FALSE(has_message(r["diagnostics"], "axioms"));
  for (const auto& d : r["diagnostics"]) CHECK(d["range"]["start"]["line"].get<int>() < 4);
  // Served from the cache, the report is the same.
  json again = check(*p, {{"text", cheat}});
  CHECK(again["cached"] == true);
  CHECK(again["axioms"] == r["axioms"]);
  CHECK(again["ok"] == false);
  // Allowed by the request: ok.
  json allowed = check(*p, {{"text", cheat}, {"allowAxioms", {"cheat"}}});
  CHECK(allowed["ok"] == true);
  // A clean proof, and one whose sorry comes from an import-free helper.
  json clean = check(*p, {{"text", "import Demo.A\ntheorem c : a = 2 := by decide\n"}});
  CHECK(clean["ok"] == true);
  CHECK(clean["axioms"] == json::parse(R"({"c":[]})"));
  json holey = check(*p, {{"text", "import Demo.A\ndef h : Nat := sorry\ntheorem d : h = 0 := by decide\n"}});
  CHECK(holey["ok"] == false);
  CHECK(holey["axioms"]["d"] == json::array({"sorryAx"}));
  // axioms: false asks nothing.
  json off = check(*p, {{"text", cheat}, {"axioms", false}});
  CHECK(off["ok"] == true);
  CHECK(off["axioms"] == json::object());
  CHECK(p->shutdown() == 0);
}

TEST_CASE("cache: a repeated check is served from the cache without elaboration") {
  Fixture f;
  auto p = f.proxy();
  const std::string text = "import Demo.B\ntheorem t : b = 4 := by decide\n";
  json first = check(*p, {{"text", text}});
  CHECK(first["cached"] == false);
  CHECK(first["ok"] == true);
  auto elabs = f.check_elabs();
  json again = check(*p, {{"text", text}});
  CHECK(again["cached"] == true);
  CHECK(again["ok"] == true);
  CHECK(again["diagnostics"] == first["diagnostics"]);
  CHECK(f.check_elabs() == elabs);
  CHECK(p->shutdown() == 0);
  // A new proxy: still a hit, from the store, and no check server is started for it.
  auto servers = f.count("server_start");
  p = f.proxy();
  json third = check(*p, {{"text", text}});
  CHECK(third["cached"] == true);
  p->drain(300);
  CHECK(f.count("server_start") == servers + 1);  // the editor session's own server only
}

TEST_CASE("goals: plainGoal at each position, cached with the result") {
  Fixture f;
  auto p = f.proxy();
  json params = {{"text", "import Demo.A\ntheorem t : a = 2 := by decide\n"},
                 {"positions", {{{"line", 1}, {"character", 24}}, {{"line", 0}, {"character", 0}}}}};
  json r = check(*p, params);
  REQUIRE(r["goals"].size() == 2);
  CHECK(r["goals"][0]["rendered"].get<std::string>().find("⊢ a = 2") != std::string::npos);
  CHECK(r["goals"][1].is_null());
  json again = check(*p, params);
  CHECK(again["cached"] == true);
  CHECK(again["goals"] == r["goals"]);
}

TEST_CASE("deadline: a looping worker is cancelled, then killed, and the document is warm again (nothing cached)") {
  Fixture f;
  auto p = f.proxy();
  const std::string hang = "import Demo.B\ndef x : Nat := 1 -- sim: hang\n";
  json r = check(*p, {{"text", hang}, {"timeoutMs", 800}});
  CHECK(r["timedOut"] == true);
  CHECK(r["ok"] == false);
  CHECK(r["cached"] == false);
  // The worker ignores cancellation (a #eval loop does too): it is ended.
  json next = check(*p, {{"text", "import Demo.B\n#eval b\n"}});
  CHECK(next["ok"] == true);
  CHECK(has_message(next["diagnostics"], "4"));
  CHECK(f.count("worker_hang") >= 1);
  // Timed out is never stored: the same text times out again.
  json again = check(*p, {{"text", hang}, {"timeoutMs", 500}});
  CHECK(again["cached"] == false);
  CHECK(again["timedOut"] == true);
  CHECK(p->shutdown() == 0);
}

TEST_CASE("crashes: a server crash or a worker crash fails that check only") {
  Fixture f;
  auto p = f.proxy({"--cache", "off"});
  json w = check(*p, {{"text", "import Demo.A\ndef x : Nat := 1 -- sim: crash\n"}});
  CHECK(w["ok"] == false);
  json s = check(*p, {{"text", "import Demo.A\n-- sim: crash-server\n#eval a\n"}});
  CHECK(s["ok"] == false);
  CHECK(s["reasons"].dump().find("ended") != std::string::npos);
  json after = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
  CHECK(after["ok"] == true);
  CHECK(has_message(after["diagnostics"], "2"));
  CHECK(p->shutdown() == 0);
}

TEST_CASE("imports rebuilt under a warm document: it is restarted, never checked against old imports") {
  for (const char* cache : {"on", "off"}) {
    CAPTURE(cache);
    Fixture f;
    auto p = f.proxy({"--cache", cache});
    json before = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
    CHECK(has_message(before["diagnostics"], "2"));
    f.ws.write("Demo/A.lean", kA[1]);  // a = 3
    REQUIRE(f.ws.build() == 0);
    json after = check(*p, {{"text", "import Demo.A\n#eval a + 0\n"}});
    CHECK(has_message(after["diagnostics"], "3"));
    // The first text again: a new key (the import changed), so no stale hit.
    json first_again = check(*p, {{"text", "import Demo.A\n#eval a\n"}});
    CHECK(has_message(first_again["diagnostics"], "3"));
    CHECK(first_again["cached"] == false);
  }
}
