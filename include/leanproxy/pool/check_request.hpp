// The agent check API's data: `$/leanProxy/check` parameters, the verdict
// (`ok`) and the reply object. No I/O, so every rule is unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leanproxy::pool {

/// `$/leanProxy/check` params: `{text}` or `{header, body}`, optional
/// `positions: [{line, character}]` (a `plainGoal` answer each),
/// `timeoutMs`, `axioms` (default true) and `allowAxioms: [name]`.
struct CheckRequest {
  /// What Lean checks: the agent's text (CRLF→LF applied) and, when axioms
  /// are asked for, a `#print axioms N` line per named declaration after it
  /// (appended, so no position in the agent's text moves).
  std::string text;
  std::vector<std::pair<long long, long long>> positions;
  std::optional<long long> timeout_ms;
  /// The declarations asked about, in the order of their `#print axioms`
  /// lines, which start at line `axiom_line` (empty: nothing asked).
  std::vector<std::string> axiom_queries;
  long long axiom_line = 0;
  /// Accepted besides the standard three (propext, Classical.choice, Quot.sound).
  std::vector<std::string> allowed_axioms;
};

/// At most this many declarations get an axiom report per check.
inline constexpr std::size_t max_axiom_queries = 64;

/// nullopt with `error` saying what was expected (an InvalidParams reply).
std::optional<CheckRequest> parse_check_request(std::string_view params, std::string& error);

/// `ok` as the API defines it: no error, no `sorry` warning, nothing that
/// disables checking (`set_option debug.skipKernelTC true`), no axiom beyond
/// the standard three (and `allowAxioms`).
struct Verdict {
  bool ok = true;
  std::vector<std::string> reasons;
  std::string diagnostics = "[]";  ///< the agent's: without the answers to the proxy's own `#print axioms`
  std::string axioms = "{}";       ///< {"name": ["propext", …]} for each declaration Lean answered for
};
/// Judges a final diagnostic set (a JSON array) of the checked request.
Verdict judge(const std::string& diagnostics_json, const CheckRequest& request);

struct CheckOutcome {
  std::string diagnostics = "[]";  ///< JSON array, as Lean published it
  std::string goals = "[]";        ///< JSON array, one `plainGoal` result (or null) per position
  bool cached = false;
  bool timed_out = false;
  std::string failure;  ///< non-empty: the check could not run to the end (crash, killed)
  double elapsed_ms = 0;
};

/// The reply: `{diagnostics, goals, cached, elapsedMs, ok, reasons, timedOut,
/// axioms}`; a timed-out or failed check is never ok.
std::string check_result_json(const CheckOutcome& outcome, const CheckRequest& request, bool* ok = nullptr);

}  // namespace leanproxy::pool
