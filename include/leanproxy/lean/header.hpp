// Lean's module header: `module`, `prelude` and the `import` lines, parsed the
// way Lean reads them (comments allowed anywhere, header ends at the first
// other command).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leanproxy::lean {

struct Header {
  bool is_module = false;  ///< starts with `module` (Lean's module system)
  bool prelude = false;
  std::vector<std::string> imports;  ///< module names, e.g. "Mathlib.Data.Nat", in order
  std::size_t end = 0;               ///< byte offset just after the header's last token
  /// The header's tokens joined by single spaces: equal signatures mean the
  /// same header syntax (Lean restarts a worker only when that changes, not
  /// for whitespace or comments).
  std::string signature;
};

/// Parses the header of `text`. Modifiers `public`, `meta`, `private`, `all`
/// and `runtime` around `import` are accepted; `«...»` name parts are kept
/// with their guillemets.
Header parse_header(std::string_view text);

/// Splits "A.B.C" into the relative path "A/B/C" (guillemets removed).
std::string module_to_path(std::string_view module);

}  // namespace leanproxy::lean
