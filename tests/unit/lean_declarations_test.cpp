// Declaration names found lexically (what an agent check asks axioms about).
#include <doctest/doctest.h>

#include "leanproxy/lean/declarations.hpp"

using leanproxy::lean::declared_names;
using V = std::vector<std::string>;

TEST_CASE("declared names: keywords at the start of a line, after attributes and modifiers") {
  CHECK(declared_names("theorem a : True := trivial\nlemma b : 1 = 1 := rfl\ndef c := 1\nabbrev d := 2\n") ==
        V{"a", "b", "c", "d"});
  CHECK(declared_names("@[simp] theorem a : True := trivial\n@[simp, reducible]\ndef b := 1\n"
                       "private noncomputable def c := 1\nprotected theorem d : True := trivial\n") ==
        V{"a", "b", "c", "d"});
  // Not at a command's start: inside a term, after `:=`, in `deriving instance`.
  CHECK(declared_names("example : True := by\n  have theorem_like := 1\n  trivial\nderiving instance Repr for Foo\n").empty());
  // Anonymous instances have no name to ask about; named ones do.
  CHECK(declared_names("instance : Inhabited Nat := ⟨0⟩\ninstance instFoo : Inhabited Nat := ⟨1⟩\n") == V{"instFoo"});
  // Universe parameters are not part of the name; duplicates are listed once.
  CHECK(declared_names("def f.{u} (α : Sort u) := α\ndef f := 1\n") == V{"f"});
}

TEST_CASE("declared names: comments and strings are skipped") {
  CHECK(declared_names("-- theorem a : True := trivial\n/- theorem b\n /- nested -/ theorem c -/\n"
                       "/-- doc -/\ntheorem d : True := trivial\n#eval \"\\\"\ntheorem e\"\n") == V{"d"});
}

TEST_CASE("declared names: namespaces, sections, mutual and _root_") {
  std::string text =
      "namespace A.B\ntheorem t : True := trivial\nsection S\ndef u := 1\nend S\n"
      "mutual\ndef even := 1\ndef odd := 2\nend\ntheorem _root_.top : True := trivial\nend A.B\n"
      "namespace C\ntheorem v.w : True := trivial\nend C\ntheorem x : True := trivial\n";
  CHECK(declared_names(text) == V{"A.B.t", "A.B.u", "A.B.even", "A.B.odd", "top", "C.v.w", "x"});
}

TEST_CASE("declared names: from an offset (after the header), guillemets") {
  std::string text = "import Mathlib\ntheorem «my thm» : True := trivial\n";
  CHECK(declared_names(text, 14) == V{"«my thm»"});
  CHECK(declared_names("", 0).empty());
  CHECK(declared_names("theorem", 0).empty());
  CHECK(declared_names("theorem a", 100).empty());
}
