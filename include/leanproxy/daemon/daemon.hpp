// The per-user daemon: owns the cache store (RocksDB allows one process) and
// serves editor sessions and control requests on a private unix socket.
#pragma once

#include <chrono>

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::daemon {

struct DaemonOptions {
  proxy::Options cache;  ///< the cache settings (--cache, --cache-dir, --cache-ttl, --cache-max-size)
  bool detached = false;  ///< started by a client: quiet if another daemon already runs
  std::chrono::seconds idle_timeout{30 * 60};  ///< exit after this long without sessions
};

/// Runs the daemon until stopped (SIGTERM, `daemon stop`, or idle); returns
/// the exit status. Refuses to start beside a live daemon.
int run_daemon(const DaemonOptions& options);

}  // namespace leanproxy::daemon
