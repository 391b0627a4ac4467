// Process-tree housekeeping: become a child subreaper, find every descendant
// through /proc, and end them. Lean starts each file worker in a session of
// its own (setsid), so process-group kills miss them; walking the tree does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <sys/types.h>
#include <vector>

namespace leanproxy::proc {

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to us
/// instead of init, so they stay findable and we can reap them.
bool become_subreaper();

/// All live descendants of `root` (not `root` itself), parents before children.
std::vector<pid_t> descendants(pid_t root);

/// Children this process started itself and waits for itself (the server,
/// helper commands): reap_orphans() leaves them to their owners. Hold the
/// returned lock across spawning and registering, so the reaper never sees
/// an unregistered child of ours.
class OwnChildren {
 public:
  static std::unique_lock<std::mutex> lock();
  static void add(pid_t pid);     ///< call with lock() held
  static void remove(pid_t pid);  ///< after the owner has waited for it
};

/// Reaps zombie children other than `keep` and our own registered children
/// (whose status their owners collect). Returns how many were reaped.
int reap_orphans(pid_t keep = 0);

/// SIGTERM every descendant of this process except `keep`, wait up to `grace`,
/// SIGKILL what is left, and reap. Returns the number of processes signalled.
int end_descendants(std::chrono::milliseconds grace, pid_t keep = 0);

/// Proportional set size of `root` and its descendants, in KiB, from
/// /proc/<pid>/smaps_rollup: shared pages (Lean's memory-mapped .olean files)
/// are split between the processes that map them, so the sum is what the tree
/// really costs (RSS would count them once per worker). 0 when unreadable.
std::uint64_t tree_pss_kib(pid_t root);

/// Sets the scheduling niceness of `root` and its descendants (best effort):
/// a pool's pre-warming runs at a lower priority than the editor's own work.
void renice_tree(pid_t root, int nice);

}  // namespace leanproxy::proc
