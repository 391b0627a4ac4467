// Agent checks' pure parts: request parsing, the verdict, the reply object,
// where check documents live, and the warm pool's key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "leanproxy/pool/check_request.hpp"
#include "leanproxy/pool/check_service.hpp"
#include "leanproxy/pool/server_pool.hpp"

using namespace leanproxy::pool;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE("check request: text, or header + body, positions, timeout, CRLF") {
  std::string err;
  auto r = parse_check_request(R"({"text":"import A\r\ntheorem t : True := trivial\r\n"})", err);
  REQUIRE(r);
  // The axiom question is appended after the agent's text, on lines of its own.
  CHECK(r->text == "import A\ntheorem t : True := trivial\n#print axioms t\n");
  CHECK(r->axiom_queries == std::vector<std::string>{"t"});
  CHECK(r->axiom_line == 2);
  CHECK_FALSE(r->timeout_ms);
  r = parse_check_request(R"({"header":"import A","body":"#eval 1","positions":[{"line":1,"character":2}],"timeoutMs":500})", err);
  REQUIRE(r);
  CHECK(r->text == "import A\n#eval 1");
  REQUIRE(r->positions.size() == 1);
  CHECK(r->positions[0] == std::pair<long long, long long>{1, 2});
  CHECK(*r->timeout_ms == 500);
  for (const char* bad : {R"([])", R"({})", R"({"text":1})", R"({"text":"x","body":"y"})",
                          R"({"text":"x","positions":[{"line":-1,"character":0}]})",
                          R"({"text":"x","positions":{}})", R"({"text":"x","timeoutMs":0})",
                          R"({"text":"x","timeoutMs":"5"})", R"({"text":"x","axioms":1})",
                          R"({"text":"x","allowAxioms":"Lean.ofReduceBool"})", R"({"text":"x","allowAxioms":[1]})", "not json"}) {
    CAPTURE(bad);
    err.clear();
    CHECK_FALSE(parse_check_request(bad, err));
    CHECK_FALSE(err.empty());
  }
}

namespace {
CheckRequest plain(std::string text) {
  CheckRequest r;
  r.text = std::move(text);
  return r;
}
// An info message on the proxy's line `line` (its #print axioms answers).
std::string info_at(int line, const std::string& message) {
  return json{{"severity", 3}, {"message", message},
              {"range", {{"start", {{"line", line}, {"character", 0}}}, {"end", {{"line", line}, {"character", 5}}}}}}
      .dump();
}
}  // namespace

TEST_CASE("verdict: errors, sorry and skipKernelTC are not ok") {
  CHECK(judge("[]", plain("theorem t : True := trivial")).ok);
  CHECK(judge(R"([{"severity":3,"message":"Goals accomplished!"}])", plain("")).ok);
  auto e = judge(R"([{"severity":1,"message":"unsolved goals\n⊢ False"}])", plain(""));
  CHECK_FALSE(e.ok);
  CHECK(e.reasons == std::vector<std::string>{"error: unsolved goals"});
  CHECK_FALSE(judge(R"([{"severity":2,"message":"declaration uses 'sorry'"}])", plain("")).ok);
  CHECK(judge(R"([{"severity":2,"message":"unused variable"}])", plain("")).ok);
  CHECK_FALSE(judge("[]", plain("set_option debug.skipKernelTC true in\ntheorem t : True := trivial")).ok);
  CHECK_FALSE(judge("not json", plain("")).ok);
}

TEST_CASE("verdict: the axiom report comes from the proxy's own lines and leaves the agent's diagnostics") {
  std::string err;
  auto r = parse_check_request(R"({"text":"namespace A\ntheorem t : True := trivial\nend A\ntheorem u : 1 = 1 := rfl\ntheorem w : 1 = 1 := rfl","allowAxioms":["Lean.ofReduceBool"]})", err);
  REQUIRE(r);
  REQUIRE(r->axiom_queries == std::vector<std::string>{"A.t", "u", "w"});
  CHECK(r->axiom_line == 5);
  CHECK(r->text.ends_with("trivial\nend A\ntheorem u : 1 = 1 := rfl\ntheorem w : 1 = 1 := rfl\n"
                          "#print axioms A.t\n#print axioms u\n#print axioms w\n"));
  std::string set = "[" + json{{"severity", 2}, {"message", "unused variable `h`"}}.dump() + "," +
                    info_at(5, "'A.t' depends on axioms: [propext, Classical.choice, Quot.sound]") + "," +
                    info_at(6, "'u' does not depend on any axioms") + "," +
                    info_at(7, "'w' depends on axioms: [Lean.ofReduceBool, propext]") + "]";
  auto v = judge(set, *r);
  CHECK(v.ok);
  CHECK(json::parse(v.diagnostics).size() == 1);  // only the agent's warning
  CHECK(json::parse(v.axioms) == json::parse(R"({"A.t":["propext","Classical.choice","Quot.sound"],"u":[],"w":["Lean.ofReduceBool","propext"]})"));
  // An axiom beyond the standard three (and not allowed) is not ok.
  set = "[" + info_at(5, "'A.t' depends on axioms: [cheat, propext]") + "," + info_at(6, "'u' depends on axioms: [sorryAx]") + "]";
  v = judge(set, *r);
  CHECK_FALSE(v.ok);
  CHECK(v.reasons == std::vector<std::string>{"'A.t' depends on axioms beyond the standard three: [cheat]",
                                              "'u' depends on axioms beyond the standard three: [sorryAx]"});
  // A declaration that failed has no constant: Lean's `unknown constant` on our line is not the agent's error.
  v = judge("[" + json{{"severity", 1}, {"message", "unknown constant 'w'"}, {"range", {{"start", {{"line", 7}, {"character", 0}}}}}}.dump() + "]", *r);
  CHECK(v.ok);
  CHECK(json::parse(v.diagnostics).empty());
  // Anything else on those lines stays (e.g. the body ended inside a comment).
  v = judge("[" + json{{"severity", 1}, {"message", "unterminated comment"}, {"range", {{"start", {{"line", 7}, {"character", 0}}}}}}.dump() + "]", *r);
  CHECK_FALSE(v.ok);
  // `axioms: false`: the text is the agent's alone.
  r = parse_check_request(R"({"text":"theorem t : True := trivial","axioms":false})", err);
  REQUIRE(r);
  CHECK(r->text == "theorem t : True := trivial");
  CHECK(r->axiom_queries.empty());
}

TEST_CASE("check result: a timed-out or failed check is never ok") {
  CheckOutcome o;
  bool ok = false;
  json r = json::parse(check_result_json(o, plain("x"), &ok));
  CHECK(ok);
  CHECK(r["ok"] == true);
  CHECK(r["timedOut"] == false);
  CHECK(r["axioms"] == json::object());
  o.timed_out = true;
  r = json::parse(check_result_json(o, plain("x"), &ok));
  CHECK_FALSE(ok);
  CHECK(r["reasons"][0] == "timed out");
  o.timed_out = false;
  o.failure = "the Lean server ended (signal 6)";
  r = json::parse(check_result_json(o, plain("x"), &ok));
  CHECK_FALSE(ok);
  CHECK(r["reasons"][0] == "the Lean server ended (signal 6)");
}

TEST_CASE("check documents live in the workspace's library directory") {
  fs::path root = fs::temp_directory_path() / ("llp-checkdir-" + std::to_string(::getpid()));
  fs::create_directories(root / "Demo");
  std::ofstream(root / "lakefile.toml") << "name = \"demo\"\ndefaultTargets = [\"Demo\"]\n";
  CHECK(check_document_dir(root.string()) == (root / "Demo").string());
  // The first declared library whose directory exists.
  std::ofstream(root / "lakefile.toml") << "name = \"demo\"\n[[lean_lib]]\nname = \"Gone\"\n\n[[lean_lib]]\nname = \"Demo\"\n";
  CHECK(check_document_dir(root.string()) == (root / "Demo").string());
  fs::remove(root / "lakefile.toml");
  std::ofstream(root / "lakefile.lean") << "import Lake\nopen Lake DSL\npackage demo\nlean_lib «Demo» where\n";
  CHECK(check_document_dir(root.string()) == (root / "Demo").string());
  fs::create_directories(root / "Sub" / "Lib");
  std::ofstream(root / "lakefile.lean") << "import Lake\nopen Lake DSL\npackage demo\nlean_lib Sub.Lib\n";
  CHECK(check_document_dir(root.string()) == (root / "Sub" / "Lib").string());
  fs::remove_all(root / "Sub");
  CHECK(check_document_dir(root.string()) == root.string());  // no such directory: the root
  fs::remove_all(root);
}

TEST_CASE("pool key: what Lean reads from initialize splits it, the rest does not") {
  SpareSpec a{{"lake", "serve"}, "/w", {"PATH=/bin", "TERM=xterm"},
              R"({"processId":1,"rootUri":"file:///w","capabilities":{"lean":{"silentDiagnosticSupport":true}},"initializationOptions":{"hasWidgets":true}})"};
  SpareSpec b = a;
  b.initialize_params = R"({"initializationOptions":{"hasWidgets":true},"processId":2,"rootUri":null,"capabilities":{"lean":{"silentDiagnosticSupport":true}}})";
  b.env = {"TERM=screen", "PATH=/bin"};
  CHECK(pool_key(a) == pool_key(b));  // other process, root URI, key order and terminal do not matter
  SpareSpec c = a;
  c.initialize_params = R"({"capabilities":{"lean":{"silentDiagnosticSupport":false}},"initializationOptions":{"hasWidgets":true}})";
  CHECK(pool_key(a) != pool_key(c));
  SpareSpec d = a;
  d.env = {"PATH=/opt/elan/bin"};
  CHECK(pool_key(a) != pool_key(d));
  SpareSpec e = a;
  e.cwd = "/other";
  CHECK(pool_key(a) != pool_key(e));
}
