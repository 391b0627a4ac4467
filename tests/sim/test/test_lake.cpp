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

namespace {

const std::string kStale =
    "Imports are out of date and should be rebuilt; use the \"Restart File\" command in your editor.";

json watched(const std::string& uri) {
  return {{"method", "workspace/didChangeWatchedFiles"},
          {"params", {{"changes", json::array({{{"uri", uri}, {"type", 2}}})}}}};
}

bool stale_publish(const json& m, const std::string& uri) {
  if (m.value("method", "") != "textDocument/publishDiagnostics" || m["params"]["uri"] != uri) return false;
  for (const auto& d : m["params"]["diagnostics"])
    if (d["message"] == kStale) return true;
  return false;
}

}  // namespace

TEST_CASE("didChangeWatchedFiles for a dependency's .lean / .ilean: the sticky note, published at once") {
  Ws ws;
  REQUIRE(ws.build().code == 0);
  Server s({bin("lake"), "serve"}, ws.dir.path, ws.env());
  s.initialize();
  std::string b = ws.dir.uri("Demo/B.lean"), c = ws.dir.uri("Demo/C.lean");
  std::string c_text = ws.dir.read("Demo/C.lean");
  s.open(b, ws.dir.read("Demo/B.lean"));
  s.open(c, c_text);
  s.wait_diags(b, 1);
  s.wait_diags(c, 1);
  // B.lean is in C's import closure, not in its own: only C is told, and
  // (as Lean's handleStaleDependency) republishes its current version at once.
  s.send(watched(b));
  auto got = s.until([&](const json& m) { return stale_publish(m, c); });
  for (const auto& m : got) CHECK_FALSE(stale_publish(m, b));
  const json& p = got.back()["params"];
  CHECK(p["version"] == 1);
  CHECK(messages(p) == std::vector<std::string>{kStale, "Goals accomplished!"});
  CHECK(p["diagnostics"][0]["range"] == json{{"start", pos(0, 0)}, {"end", pos(1, 0)}});
  CHECK(p["diagnostics"][0]["fullRange"] == json{{"start", pos(0, 0)}, {"end", pos(2, 0)}});  // to the end of the file
  // A's .ilean (Demo.A) is in B's closure too.
  s.send(watched(ws.dir.uri(".lake/build/lib/lean/Demo/A.ilean")));
  s.until([&](const json& m) { return stale_publish(m, b); });
  // Sticky: later versions keep it until the file is restarted.
  s.send(change(c, 2, c_text + "#eval b\n"));
  s.wait_diags(c, 2);
  CHECK(messages(s.last_publish(c, 2)) == std::vector<std::string>{kStale, "Goals accomplished!", "3"});
}

TEST_CASE("incremental diagnostics: a stale note makes the next publish a full one") {
  Ws ws;
  REQUIRE(ws.build().code == 0);
  Server s({bin("lake"), "serve"}, ws.dir.path, ws.env());
  s.initialize_with({{"silentDiagnosticSupport", true}, {"incrementalDiagnosticSupport", true}});
  std::string c = ws.dir.uri("Demo/C.lean");
  std::string text = "import Demo.B\ntheorem c : b = 3 := by decide\n#eval b\n";
  s.open(c, text);
  auto v1 = publishes(s.wait_diags(c, 1), 1);
  CHECK(messages(json{{"diagnostics", accumulate(v1)}}) == std::vector<std::string>{"Goals accomplished!", "3"});
  s.send(watched(ws.dir.uri("Demo/A.lean")));
  auto got = s.until([&](const json& m) { return stale_publish(m, c); });
  CHECK(got.back()["params"]["isIncremental"] == false);
  CHECK(messages(got.back()["params"]) == std::vector<std::string>{kStale, "Goals accomplished!", "3"});
  s.send(change(c, 2, text + "#eval b + 1\n"));
  auto v2 = publishes(s.wait_diags(c, 2), 2);
  REQUIRE(!v2.empty());
  CHECK(v2[0]["isIncremental"] == false);
  CHECK(messages(json{{"diagnostics", accumulate(v2)}}) ==
        std::vector<std::string>{kStale, "Goals accomplished!", "3", "4"});
}

TEST_CASE("messages that name modules: import clash / redeclaration / self-import cycle / hover / lake build cycle") {
  Ws ws;
  ws.dir.write("Demo/D.lean", "def a : Nat := 9\n");
  REQUIRE(ws.build().code == 0);
  // Lean's throwAlreadyImported names the importing and the declaring module.
  ws.dir.write("Use.lean", "import Demo.A\nimport Demo.D\n#eval a\n");
  auto clash = run({bin("lake"), "env", bin("lean"), "Use.lean"}, ws.dir.path);
  CHECK(clash.code == 1);
  CHECK(clash.out == "Use.lean:1:0: error: import Demo.D failed, environment already contains 'a' from Demo.A\n");
  ws.dir.write("Re.lean", "import Demo.A\ndef a : Nat := 1\n");
  CHECK(run({bin("lake"), "env", bin("lean"), "Re.lean"}, ws.dir.path).out ==
        "Re.lean:2:4: error: 'a' has already been declared\n");
  // The same text checks differently under two module names: in Demo/X.lean
  // `import Demo.X` is a cycle naming the file's own module.
  ws.dir.write("Demo/X.lean", "def x : Nat := 5\n");
  Server s({bin("lake"), "serve"}, ws.dir.path, ws.env());
  s.initialize();
  std::string text = "import Demo.X\n#eval x\n";
  std::string x = ws.dir.uri("Demo/X.lean"), y = ws.dir.uri("Demo/Y.lean");
  s.open(x, text);
  s.open(y, text);
  s.wait_diags(x, 1);
  s.wait_diags(y, 1);
  auto xm = messages(s.last_publish(x, 1));
  REQUIRE(xm.size() == 1);
  CHECK(xm[0].find("failed:\n\nstderr:\nerror: build cycle detected:\n  +Demo.X:olean\n  +Demo.X:olean\n") !=
        std::string::npos);
  CHECK(messages(s.last_publish(y, 1)) == std::vector<std::string>{"5"});
  auto hv = s.request("textDocument/hover", {{"textDocument", {{"uri", y}}}, {"position", pos(1, 6)}});
  CHECK(hv.back()["result"]["contents"]["value"] == "```lean\nx : Nat\n```\n***\n*import Demo.X*");
  // `lake build` reports a cycle between modules as Lake does.
  ws.dir.write("Demo/P.lean", "import Demo.Q\n");
  ws.dir.write("Demo/Q.lean", "import Demo.P\n");
  auto cyc = run({bin("lake"), "build", "Demo.P"}, ws.dir.path, ws.env());
  CHECK(cyc.code == 1);
  CHECK(cyc.out.find("error: build cycle detected:\n  +Demo.P:olean\n  +Demo.Q:olean\n  +Demo.P:olean\n") !=
        std::string::npos);
}
