// `lean-lsp-proxy check FILE...`: proof-checks files the way an agent would,
// through the proxy (so repeats come from the cache), printing Lean-style
// diagnostics and exiting 1 when any file is not ok.
#pragma once

#include <string>
#include <vector>

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::cli {

/// `ok` as the agent API defines it: no error, no `sorry` warning, nothing
/// that disables checking (`set_option debug.skipKernelTC true`).
struct Verdict {
  bool ok = true;
  std::vector<std::string> reasons;
};
/// Judges a final diagnostic set (a JSON array) and the checked text.
Verdict judge(const std::string& diagnostics_json, const std::string& text);

/// Formats one diagnostic as Lean does on the command line: `file:line:col: severity: message`.
std::string format_diagnostic(const std::string& file, const std::string& diagnostic_json);

/// Runs the check command; `files` are paths or "-" for standard input.
int run_check(const proxy::Options& options, const std::vector<std::string>& files);

}  // namespace leanproxy::cli
