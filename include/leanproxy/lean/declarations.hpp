// The named declarations of a Lean file, found lexically (no elaboration), so
// an agent check can ask Lean which axioms each of them depends on.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leanproxy::lean {

/// Full names of the `theorem` / `lemma` / `def` / `abbrev` / `opaque` /
/// named `instance` declarations of `text` from byte `from` on, in order,
/// without duplicates: a keyword counts when it starts its line, after
/// attributes (`@[simp]`) and modifiers (`private`, `protected`,
/// `noncomputable`, …) only. Names are qualified by the enclosing
/// `namespace`s (`section` / `mutual` / `end` tracked; `_root_.` honoured);
/// comments and string literals are skipped. A lexical approximation: a name
/// Lean does not know answers `unknown constant`, which the caller ignores.
std::vector<std::string> declared_names(std::string_view text, std::size_t from = 0);

}  // namespace leanproxy::lean
