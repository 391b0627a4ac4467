// CLI commands that talk to the daemon's control socket: status, stats,
// cache clear, daemon stop.
#pragma once

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::cli {

/// Runs `options.command`; returns the exit status (1 when no daemon runs).
int run_command(const proxy::Options& options);

/// The stats JSON as a readable table, in the manner of `sccache --show-stats`.
std::string format_stats(const std::string& stats_json);

}  // namespace leanproxy::cli
