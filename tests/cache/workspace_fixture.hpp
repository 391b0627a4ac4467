// The campaign's and focused tests' multi-module workspace: Demo.A <- Demo.B <- Main, Demo.A <- Other, Std <- Solo.
#pragma once

#include "harness.hpp"

#include <string>
#include <vector>

namespace cachetest {

// Variants are small fixed sets so that states recur and the cache gets hits.
inline const std::vector<std::string> kA = {
    "def a : Nat := 2\ndef a2 : Nat := a + 1\n",
    "def a : Nat := 3\ndef a2 : Nat := a + 1\n",
    "-- a comment: the olean is the same as variant 0 (Lake's early cutoff)\ndef a : Nat := 2\ndef a2 : Nat := a + 1\n",
    "def a : Nat := 2\ntheorem ta : a = 2 := sorry\ndef a2 : Nat := a + 1\n",  // fails to build under strictSorry
    "def a : Nat := 2\n",                                                     // a2 gone: importers break
};
inline const std::vector<std::string> kB = {
    "import Demo.A\ndef b : Nat := a * 2\n",
    "import Demo.A\ndef b : Nat := a2 + 10\n",
};

inline std::string lakefile(bool strict) {
  return std::string("name = \"demo\"\n\n[leanOptions]\nsim.strictSorry = ") + (strict ? "true" : "false") + "\n";
}

struct DocSpec {
  std::string rel;
  std::vector<std::string> headers, bodies;
};

inline const std::vector<DocSpec> kDocs = {
    {"Main.lean",
     // Headers 1 and 2 are the same syntax: Lean does not restart the worker
     // between them. (Same length too: the simulator's worker keeps the
     // header's end offset of its first text.)
     {"import Demo.B\n", "import Demo.B\nimport Std\n", "import Demo.B import Std\n", "import Demo.A\n"},
     {"def n : Nat := b + 1\ntheorem t : n = 5 := by decide\n", "def n : Nat := b + 1\ntheorem t : n = 7 := by decide\n",
      "#eval b\n", "theorem s : b = 4 := sorry\n", "def m : Nat := a2 * b\n#eval m\n", "#eval Std.answer + b\n"}},
    {"Other.lean",
     {"import Demo.A\n", "import Demo.A\nimport Std.Data.Basic\n"},
     {"theorem o : a = 2 := by decide\n", "#eval a2\n", "theorem o : a + 1 = a2 := rfl\n", "example : a = 3 := by decide\n",
      "theorem s : a = a := sorry\n"}},
    {"Solo.lean",
     {"import Std\n", ""},
     {"theorem s : Std.answer = 42 := sorry\n", "#eval Std.answer\n", "theorem q : 2 + 2 = 4 := by decide\n",
      "theorem s : 1 = 1 := sorry\n"}},
};

/// Writes the workspace (A0, B0, strictSorry off, docs' initial texts) and builds it.
inline void make_workspace(const Workspace& ws) {
  ws.write("lean-toolchain", "leanprover/lean4:v4.28.0\n");
  ws.write("lakefile.toml", lakefile(false));
  ws.write("Demo/A.lean", kA[0]);
  ws.write("Demo/B.lean", kB[0]);
  // On disk the documents are just their first header: `lake build` builds
  // them too, and it should fail only when Demo.A / Demo.B do.
  for (const auto& d : kDocs) ws.write(d.rel, d.headers[0]);
  ws.build();
}

}  // namespace cachetest
