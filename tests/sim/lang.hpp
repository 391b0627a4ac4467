// The simulator's tiny Lean-like language: header (module / imports), Nat
// definitions, equational theorems with one-tactic proofs, axioms, #eval,
// #check and #print axioms.
// Pure functions over text; the worker, `lean <file>` and `lake build` share it.
#pragma once

#include "sim_util.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace leansim {

/// A message as Lean logs it: byte offsets into the text, converted to LSP
/// positions only when published (see diag_to_json).
struct Diag {
  std::size_t pos = 0, end_pos = 0;
  int severity = 1;  ///< 1 error, 2 warning, 3 information
  std::string message;
  std::vector<int> lean_tags;  ///< 1 unsolvedGoals, 2 goalsAccomplished
  bool silent = false;
  /// Build-output and header notes use fixed LSP ranges (0:0–1:0 etc.)
  /// instead of offsets.
  std::optional<json> fixed_range, fixed_full_range;
};

struct Import {
  std::string module;
  std::size_t pos = 0, end_pos = 0;  ///< the whole `import A.B` syntax
};

struct Header {
  bool is_module = false;
  std::vector<Import> imports;
  std::size_t begin = 0;  ///< offset of the header's first token (where Lean logs import failures)
  std::size_t end = 0;  ///< offset right after the header's last token
  std::vector<Diag> diags;  ///< parse errors inside the header
  /// Canonical form: equal iff the header's syntax is equal (what makes the
  /// worker restart).
  std::string key() const;
};

Header parse_header(const std::string& text);

/// Options that change elaboration (from the lakefile's leanOptions).
struct Options {
  bool strict_sorry = false;  ///< sim.strictSorry: the sorry warning becomes an error
  /// `#eval` of IO actions executes them (lang_io.hpp); false when a request
  /// re-elaborates the text, so side effects happen once per version.
  bool run_io = true;
};

/// An imported or local declaration.
struct Decl {
  std::uint64_t value = 0;
  std::string module;  ///< where it was declared (empty: this file)
  char kind = 'd';     ///< 'd' a Nat definition (usable in terms), 't' a theorem, 'a' an axiom
  std::string prop;    ///< theorems and axioms: the statement as printed ("1 = 2", "True")
  /// The axioms it depends on, transitively (what `#print axioms` prints):
  /// `sorryAx` for sorry (and for a declaration that failed: Lean adds it
  /// with the failed part sorried), `propext` for simp / omega, an axiom
  /// itself, and whatever the declarations it uses depend on.
  std::set<std::string> axioms;
};
using Env = std::map<std::string, Decl>;

/// One command's elaboration result.
struct CmdResult {
  std::size_t begin = 0, end = 0;  ///< keyword start, end of its last token
  std::string kind;                ///< "def", "theorem", "axiom", "example", "#eval", "#check", "#print", "error"
  std::string name;
  std::size_t name_pos = 0, name_end = 0;
  std::vector<Diag> diags;
  long sleep_ms = 0;  ///< from `-- sim: sleep N` directives inside the command
  std::vector<std::string> markers;  ///< other `-- sim: X` directives (fault injection)
  // Proof state, for $/lean/plainGoal.
  bool has_by = false;
  std::size_t by_pos = 0, tactic_end = 0;
  std::string goal;     ///< e.g. "⊢ 2 + 2 = 4"
  bool closed = false;  ///< the tactic closed the goal
  std::optional<std::uint64_t> value;
  std::optional<Decl> declared;  ///< what it added to the environment (def, theorem, axiom)
  /// Identifier / literal tokens with what hover and plainTermGoal show.
  struct Term {
    std::size_t pos, end;
    std::string text;
    std::optional<std::uint64_t> value;
    std::string module;
  };
  std::vector<Term> terms;
};

/// Elaborates every command after the header. `env` holds the imported
/// declarations and receives this file's definitions.
std::vector<CmdResult> elaborate(const std::string& text, std::size_t header_end, Env& env, const Options& opts);

/// The publishDiagnostics element for `d` over `text` (Lean's msgToDiagnostic:
/// `range` stops at the start of the next line when the message spans lines,
/// `fullRange` is the whole extent).
json diag_to_json(const std::string& text, const Diag& d, bool include_silent_flag);
json lsp_pos(const std::string& text, std::size_t offset);
json lsp_range(const std::string& text, std::size_t pos, std::size_t end);

}  // namespace leansim
