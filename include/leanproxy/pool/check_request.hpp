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
/// `positions: [{line, character}]` (a `plainGoal` answer each) and
/// `timeoutMs`.
struct CheckRequest {
  std::string text;  ///< the whole document (header + body), CRLF→LF applied
  std::vector<std::pair<long long, long long>> positions;
  std::optional<long long> timeout_ms;
};

/// nullopt with `error` saying what was expected (an InvalidParams reply).
std::optional<CheckRequest> parse_check_request(std::string_view params, std::string& error);

/// `ok` as the API defines it: no error, no `sorry` warning, nothing that
/// disables checking (`set_option debug.skipKernelTC true`).
struct Verdict {
  bool ok = true;
  std::vector<std::string> reasons;
};
/// Judges a final diagnostic set (a JSON array) and the checked text.
Verdict judge(const std::string& diagnostics_json, const std::string& text);

struct CheckOutcome {
  std::string diagnostics = "[]";  ///< JSON array
  std::string goals = "[]";        ///< JSON array, one `plainGoal` result (or null) per position
  bool cached = false;
  bool timed_out = false;
  std::string failure;  ///< non-empty: the check could not run to the end (crash, killed)
  double elapsed_ms = 0;
};

/// The reply: `{diagnostics, goals, cached, elapsedMs, ok, reasons, timedOut}`;
/// a timed-out or failed check is never ok.
std::string check_result_json(const CheckOutcome& outcome, const std::string& text, bool* ok = nullptr);

}  // namespace leanproxy::pool
