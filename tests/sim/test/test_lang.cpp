// In-process tests of the tiny language and of Lean's diagnostic shapes.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "elaborate.hpp"
#include "lang.hpp"

using namespace leansim;

namespace {

json range(int l0, int c0, int l1, int c1) {
  return {{"start", {{"line", l0}, {"character", c0}}}, {"end", {{"line", l1}, {"character", c1}}}};
}

}  // namespace

TEST_CASE("goalsAccomplished: the silent info matches Lean's real output") {
  // tests/lean/interactive/goalsAccomplished.lean, as quoted in LEAN_PROTOCOL.md.
  std::string text =
      "theorem foo : True := by\n  exact True.intro\n--^ collectDiagnostics\n\n"
      "theorem foobar : True := True.intro\n--^ collectDiagnostics\n\n"
      "example : True := True.intro\n--^ collectDiagnostics\n";
  json expected = json::parse(R"([
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
     "fullRange": {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 28}}}])");
  CHECK(json(diags_of(text)) == expected);
}

TEST_CASE("unknown identifiers carry their exact UTF-16 range") {
  auto d = diags_of("#check tru\n#check fals\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0]["message"] == "unknown identifier 'tru'");
  CHECK(d[0]["range"] == range(0, 7, 0, 10));
  CHECK(d[0]["fullRange"] == range(0, 7, 0, 10));
  CHECK(d[1]["range"] == range(1, 7, 1, 11));
  // Non-ASCII: 'α' is one UTF-16 unit, '𝔸' two.
  auto u = diags_of("def x : Nat := 1 + α𝔸\n");
  REQUIRE(u.size() == 1);
  CHECK(u[0]["range"] == range(0, 19, 0, 22));
}

TEST_CASE("tactics succeed iff both sides evaluate equal / else unsolved goals") {
  auto ok = diags_of("def n : Nat := 2 * 3\ntheorem t : n + 1 = 7 := by omega\n");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0]["message"] == "Goals accomplished!");
  auto bad = diags_of("theorem t : 2 + 2 = 5 := by decide\n");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0]["severity"] == 1);
  CHECK(bad[0]["message"] == "unsolved goals\n⊢ 2 + 2 = 5");
  CHECK(bad[0]["leanTags"] == json::array({1}));
  CHECK(bad[0]["range"] == range(0, 25, 0, 34));
  // Nat subtraction truncates; printing keeps needed parentheses only.
  auto p = diags_of("theorem t : (1 + 2) * 3 - 20 = 1 + 2 * 3 := by rfl\n");
  CHECK(p[0]["message"] == "unsolved goals\n⊢ (1 + 2) * 3 - 20 = 1 + 2 * 3");
}

TEST_CASE("sorry warns at the declaration name - sim.strictSorry makes it an error") {
  auto w = diags_of("theorem s : 1 = 1 := by sorry\n");
  REQUIRE(w.size() == 1);
  CHECK(w[0]["severity"] == 2);
  CHECK(w[0]["message"] == "declaration uses 'sorry'");
  CHECK(w[0]["range"] == range(0, 8, 0, 9));
  Options strict;
  strict.strict_sorry = true;
  CHECK(diags_of("theorem s : 1 = 1 := by sorry\n", strict)[0]["severity"] == 1);
}

TEST_CASE("#eval and #check report at their keyword") {
  auto d = diags_of("def n : Nat := 4\n#eval n * 2\n#check n + 1\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0]["message"] == "8");
  CHECK(d[0]["range"] == range(1, 0, 1, 5));
  CHECK(d[1]["message"] == "n + 1 : Nat");
  CHECK(d[1]["severity"] == 3);
}

TEST_CASE("parse errors are zero-width at the offending token") {
  auto d = diags_of("def m : Nat := 1 + )\ndef k : Nat := 1 +");
  REQUIRE(d.size() == 2);
  CHECK(d[0]["message"] == "unexpected token ')'; expected term");
  CHECK(d[0]["range"] == range(0, 19, 0, 19));
  CHECK(d[1]["message"] == "unexpected end of input");
  auto junk = diags_of("foo bar\n");
  CHECK(junk[0]["message"] == "unexpected identifier; expected command");
}

TEST_CASE("header: module / imports / public import") {
  Header h = parse_header("module\nimport A.B\npublic import C\n\ndef x : Nat := 1\n");
  CHECK(h.is_module);
  REQUIRE(h.imports.size() == 2);
  CHECK(h.imports[0].module == "A.B");
  CHECK(h.imports[1].module == "C");
  CHECK(h.key() == parse_header("module\n  import A.B public import C -- c\n").key());
  CHECK(h.key() != parse_header("module\nimport A.B\n").key());
}

TEST_CASE("silent diagnostics omit isSilent when not requested by the caller") {
  auto d = diags_of("example : 1 = 1 := rfl\n", {}, false);
  REQUIRE(d.size() == 1);
  CHECK_FALSE(d[0].contains("isSilent"));
}

namespace {
// The info messages of a text (without the silent "Goals accomplished!").
std::vector<std::string> infos_of(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& d : diags_of(text, {}, false))
    if (d["severity"] == 3 && d["message"] != "Goals accomplished!") out.push_back(d["message"]);
  return out;
}
}  // namespace

TEST_CASE("#print axioms: Lean's wording, Name order, transitive through what a proof uses") {
  std::string text =
      "def n : Nat := 2\n"
      "def s : Nat := sorry\n"
      "theorem clean : n = 2 := by decide\n"
      "theorem simped : n + 1 = 3 := by simp\n"
      "axiom cheat : 1 = 2\n"
      "theorem bad : 1 = 2 := cheat\n"
      "theorem worse : 1 = 2 := by exact bad\n"
      "theorem holey : n = 2 := sorry\n"
      "theorem uses_s : s = 0 := by decide\n"
      "#print axioms clean\n#print axioms simped\n#print axioms cheat\n#print axioms bad\n#print axioms worse\n"
      "#print axioms holey\n#print axioms uses_s\n#print axioms n\n";
  CHECK(infos_of(text) == std::vector<std::string>{
                              "'clean' does not depend on any axioms",
                              "'simped' depends on axioms: [propext]",
                              "'cheat' depends on axioms: [cheat]",
                              "'bad' depends on axioms: [cheat]",
                              "'worse' depends on axioms: [cheat]",
                              "'holey' depends on axioms: [sorryAx]",
                              "'uses_s' depends on axioms: [sorryAx]",
                              "'n' does not depend on any axioms",
                          });
}

TEST_CASE("#print axioms: a failed proof is added sorried, an unknown name, a statement mismatch") {
  auto d = diags_of("theorem f : 1 = 2 := by decide\n#print axioms f\n#print axioms nope\n"
                    "axiom ax : 1 = 3\ntheorem g : 1 = 2 := ax\n#print axioms g\n", {}, false);
  std::vector<std::string> msgs;
  for (const auto& x : d) msgs.push_back(x["message"]);
  CHECK(msgs == std::vector<std::string>{
                    "unsolved goals\n⊢ 1 = 2",
                    "'f' depends on axioms: [sorryAx]",
                    "unknown constant 'nope'",
                    "type mismatch\n  ax\nhas type\n  1 = 3 : Prop\nbut is expected to have type\n  1 = 2 : Prop",
                    "'g' depends on axioms: [ax, sorryAx]",
                });
  // The info spans the command; the error names the constant.
  CHECK(d[1]["range"] == range(1, 0, 1, 15));
  CHECK(d[2]["range"] == range(2, 14, 2, 18));
}
