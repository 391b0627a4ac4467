// `lake build` / `lake serve` / `lake env` and dependency semantics: traces,
// transitive depHash with early cutoff, stale imports, imports loaded once.
#include <doctest/doctest.h>

#include "driver.hpp"

#include <fstream>

using namespace simtest;

namespace {

struct Ws {
  TempDir dir;
  std::string events = dir.path + "/events.jsonl";
  Ws() {
    dir.write("lakefile.toml", "name = \"demo\"\n");
    dir.write("lean-toolchain", "leanprover/lean4:v4.28.0\n");
    dir.write("Demo/A.lean", "def a : Nat := 2\n");
    dir.write("Demo/B.lean", "import Demo.A\ndef b : Nat := a + 1\n");
    dir.write("Demo/C.lean", "import Demo.B\ntheorem c : b = 3 := by decide\n");
  }
  Env env(Env extra = {}) const {
    extra["LEAN_SIM_EVENTS"] = events;
    return extra;
  }
  RunResult build() const { return run({bin("lake"), "build"}, dir.path, env()); }
  json trace(const std::string& mod) const {
    return json::parse(dir.read(".lake/build/lib/lean/Demo/" + mod + ".trace"));
  }
  std::vector<std::string> built() const {
    std::vector<std::string> out;
    for (const auto& e : simtest::events(events, "build")) out.push_back(e["module"]);
    return out;
  }
};

json pos(int l, int c) { return {{"line", l}, {"character", c}}; }

json change(const std::string& uri, int version, const std::string& text) {
  return {{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", version}}},
                      {"contentChanges", json::array({{{"text", text}}})}}}};
}

std::vector<std::string> messages(const json& publish) {
  std::vector<std::string> out;
  for (const auto& d : publish["diagnostics"]) out.push_back(d["message"]);
  return out;
}

}  // namespace

TEST_CASE("lake build writes olean / ilean / hash and a JSON trace") {
  Ws ws;
  auto r = ws.build();
  CHECK(r.code == 0);
  CHECK(r.out.find("Build completed successfully") != std::string::npos);
  json t = ws.trace("C");
  for (const char* k : {"schemaVersion", "depHash", "inputs", "outputs", "log", "synthetic"}) CHECK(t.contains(k));
  json olean = json::parse(ws.dir.read(".lake/build/lib/lean/Demo/B.olean"));
  CHECK(olean["imports"] == json::array({"Demo.A"}));
  CHECK(olean["decls"][0] == json{{"name", "b"}, {"value", 3}});
  CHECK(!ws.dir.read(".lake/build/lib/lean/Demo/B.ilean").empty());
  CHECK(!ws.dir.read(".lake/build/lib/lean/Demo/B.olean.hash").empty());
  CHECK(ws.built() == std::vector<std::string>{"Demo.A", "Demo.B", "Demo.C"});
}

TEST_CASE("depHash: an identical rebuild changes nothing - an edit propagates - early cutoff") {
  Ws ws;
  REQUIRE(ws.build().code == 0);
  std::string a0 = ws.trace("A")["depHash"], b0 = ws.trace("B")["depHash"], c0 = ws.trace("C")["depHash"];
  REQUIRE(ws.build().code == 0);  // nothing to do
  CHECK(ws.built().size() == 3);
  CHECK(ws.trace("C")["depHash"] == c0);
  // A comment-only edit: A is rebuilt, its olean is identical, B and C are not.
  ws.dir.write("Demo/A.lean", "-- a comment\ndef a : Nat := 2\n");
  REQUIRE(ws.build().code == 0);
  CHECK(ws.trace("A")["depHash"] != a0);
  CHECK(ws.trace("B")["depHash"] == b0);
  CHECK(ws.built().size() == 4);
  // A real edit: the change reaches C transitively, and C's proof now fails.
  ws.dir.write("Demo/A.lean", "def a : Nat := 5\n");
  auto r = ws.build();
  CHECK(r.code == 1);
  CHECK(r.out.find("unsolved goals") != std::string::npos);
  CHECK(ws.trace("B")["depHash"] != b0);
  ws.dir.write("Demo/C.lean", "import Demo.B\ntheorem c : b = 6 := by decide\n");
  REQUIRE(ws.build().code == 0);
  CHECK(ws.trace("C")["depHash"] != c0);
}

TEST_CASE("a lakefile option changes diagnostics and the depHash") {
  Ws ws;
  ws.dir.write("Demo/S.lean", "theorem s : 1 = 1 := by sorry\n");
  REQUIRE(ws.build().code == 0);
  std::string h = json::parse(ws.dir.read(".lake/build/lib/lean/Demo/S.trace"))["depHash"];
  ws.dir.write("lakefile.toml", "name = \"demo\"\n[leanOptions]\nsim.strictSorry = true\n");
  auto r = ws.build();
  CHECK(r.code == 1);
  CHECK(r.out.find("error: Demo/S.lean:1:8: declaration uses 'sorry'") != std::string::npos);
  ws.dir.write("Demo/S.lean", "theorem s : 1 = 1 := by rfl\n");
  REQUIRE(ws.build().code == 0);
  CHECK(json::parse(ws.dir.read(".lake/build/lib/lean/Demo/S.trace"))["depHash"] != h);
}

TEST_CASE("lake env / lean <file> / unknown modules name the search path") {
  Ws ws;
  auto env = run({bin("lake"), "env"}, ws.dir.path);
  CHECK(env.out.find("LEAN_PATH=" + ws.dir.path + "/.lake/build/lib/lean") != std::string::npos);
  REQUIRE(ws.build().code == 0);
  ws.dir.write("Use.lean", "import Demo.B\n#eval b * 2\n");
  auto ok = run({bin("lake"), "env", bin("lean"), "Use.lean"}, ws.dir.path);
  CHECK(ok.code == 0);
  CHECK(ok.out == "Use.lean:2:0: info: 6\n");
  ws.dir.write("Bad.lean", "import Nope.X\n");
  auto bad = run({bin("lake"), "env", bin("lean"), "Bad.lean"}, ws.dir.path);
  CHECK(bad.code == 1);
  CHECK(bad.out.find("Bad.lean:1:0: error: unknown module prefix 'Nope'\n\nNo directory 'Nope' or file 'Nope.olean' "
                     "in the search path entries:\n" + ws.dir.path + "/.lake/build/lib/lean\n") != std::string::npos);
  CHECK(run({bin("lean"), "--version"}, ws.dir.path).out.rfind("Lean (version 4.", 0) == 0);
}

TEST_CASE("lake serve: stale imports with dependencyBuildMode never / rebuilt with always") {
  Ws ws;
  Server s({bin("lake"), "serve", "--", ws.dir.path}, ws.dir.path, ws.env());
  s.initialize();
  std::string uri = ws.dir.uri("Demo/C.lean");
  std::string text = ws.dir.read("Demo/C.lean");
  s.open(uri, text, 1, "never");
  s.wait_diags(uri, 1);
  CHECK(messages(s.last_publish(uri, 1)) == std::vector<std::string>{
            "Imports are out of date and must be rebuilt; use the \"Restart File\" command in your editor."});
  // Restart File: didClose + didOpen with "once"; the build output shows up as
  // info diagnostics at 0:0–1:0, then the file checks against fresh imports.
  s.send({{"method", "textDocument/didClose"}, {"params", {{"textDocument", {{"uri", uri}}}}}});
  s.open(uri, text, 1, "once");
  auto msgs = s.wait_diags(uri, 1);
  auto pubs = publishes(msgs, 1);
  bool saw_build = false;
  for (const auto& p : pubs)
    if (!p["diagnostics"].empty() && p["diagnostics"][0]["message"].get<std::string>().find("Built Demo.A") != std::string::npos) {
      saw_build = true;
      CHECK(p["diagnostics"][0]["severity"] == 3);
      CHECK(p["diagnostics"][0]["range"] == json{{"start", pos(0, 0)}, {"end", pos(1, 0)}});
    }
  CHECK(saw_build);
  REQUIRE(!pubs.empty());
  CHECK(messages(pubs.back()) == std::vector<std::string>{"Goals accomplished!"});
  CHECK(ws.built() == std::vector<std::string>{"Demo.A", "Demo.B"});
  // lake stays the parent of `lean --server`.
  auto start = events(ws.events, "server_start");
  REQUIRE(start.size() == 1);
  std::ifstream stat("/proc/" + std::to_string(start[0]["pid"].get<long>()) + "/stat");
  std::string st((std::istreambuf_iterator<char>(stat)), {});
  long ppid = 0;
  std::sscanf(st.c_str() + st.rfind(')') + 4, "%ld", &ppid);
  CHECK(ppid == s.pid());
}

TEST_CASE("imports load once per worker - a saved dependency makes a sticky note on dependents") {
  Ws ws;
  REQUIRE(ws.build().code == 0);
  Server s({bin("lake"), "serve"}, ws.dir.path, ws.env());
  s.initialize();
  std::string a = ws.dir.uri("Demo/A.lean"), c = ws.dir.uri("Demo/C.lean");
  s.open(a, ws.dir.read("Demo/A.lean"));
  s.open(c, ws.dir.read("Demo/C.lean"));
  s.wait_diags(a, 1);
  s.wait_diags(c, 1);
  CHECK(messages(s.last_publish(c, 1)) == std::vector<std::string>{"Goals accomplished!"});
  // Edit and save A, rebuild: C's running worker keeps the imports it loaded.
  std::string a2 = "def a : Nat := 7\n";
  ws.dir.write("Demo/A.lean", a2);
  s.send(change(a, 2, a2));
  s.send({{"method", "textDocument/didSave"}, {"params", {{"textDocument", {{"uri", a}}}, {"text", a2}}}});
  REQUIRE(ws.build().code == 1);  // C's proof no longer holds with a = 7
  s.send(change(c, 2, "import Demo.B\ntheorem c : b = 3 := by decide\n-- edited\n"));
  s.wait_diags(c, 2);
  auto v2 = messages(s.last_publish(c, 2));
  CHECK(v2 == std::vector<std::string>{
                  "Imports are out of date and should be rebuilt; use the \"Restart File\" command in your editor.",
                  "Goals accomplished!"});
  // Restart File: a fresh worker imports the rebuilt B (b = 8).
  s.send({{"method", "textDocument/didClose"}, {"params", {{"textDocument", {{"uri", c}}}}}});
  s.open(c, "import Demo.B\ntheorem c : b = 8 := by decide\n", 3, "once");
  s.wait_diags(c, 3);
  CHECK(messages(s.last_publish(c, 3)) == std::vector<std::string>{"Goals accomplished!"});
}
