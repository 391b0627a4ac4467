// `lean-lsp-proxy check FILE...`: proof-checks files the way an agent would,
// with the agent check API (warm documents, repeats from the cache), printing
// Lean-style diagnostics and exiting 1 when any file is not ok.
#pragma once

#include <string>
#include <vector>

#include "leanproxy/pool/check_request.hpp"
#include "leanproxy/proxy/options.hpp"

namespace leanproxy::cli {

using pool::judge;
using pool::Verdict;

/// Formats one diagnostic as Lean does on the command line: `file:line:col: severity: message`.
std::string format_diagnostic(const std::string& file, const std::string& diagnostic_json);

/// Runs the check command; `files` are paths or "-" for standard input.
int run_check(const proxy::Options& options, const std::vector<std::string>& files);

}  // namespace leanproxy::cli
