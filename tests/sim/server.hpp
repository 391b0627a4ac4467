// Entry points of the simulated Lean server processes.
#pragma once

#include <string>

namespace leansim {

/// `lean --server`: the watchdog (one worker process per open document).
int watchdog_main();
/// `lean --worker <uri>`: one file worker, spoken to by the watchdog over
/// stdin/stdout with Lean's own LSP messages.
int worker_main(const std::string& uri);

/// Environment switches shared by both (read once).
struct Switches {
  long startup_ms, worker_startup_ms, import_ms, elab_ms, reply_delay_ms;
  bool old_order;           ///< publish the final set before `processing: []`
  long reorder_seed;        ///< nonzero: superseded versions may publish late
  long reorder_pct;         ///< chance (percent) of a late publish per superseded version
  long crash_after;         ///< watchdog aborts after this many client messages (0: never)
  long malformed_after;     ///< watchdog writes a malformed frame after this many messages
  static const Switches& get();
};

}  // namespace leansim
