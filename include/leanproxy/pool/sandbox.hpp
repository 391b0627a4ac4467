// `--sandbox` for agent checks: the check server runs under bubblewrap (no network, everything read-only, a private /tmp).
#pragma once

#include <string>
#include <vector>

namespace leanproxy::pool {

/// The bwrap command line that runs `argv` (argv[0] an absolute path) with
/// `cwd` as its working directory, in order:
///   bwrap --die-with-parent --new-session --unshare-net --unshare-pid
///         --unshare-ipc --unshare-uts --unshare-cgroup-try
///         --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
///         [--ro-bind P P]…  --setenv TMPDIR /tmp --chdir <cwd> -- argv…
/// Invariants: every file system path is read-only except the fresh /tmp
/// (and /dev's own tmpfs), which no other process sees; the network namespace
/// has loopback only; the sandbox dies with its parent (our reaper). A
/// workspace or server directory under /tmp would be hidden by the private
/// /tmp, so each is bound again, read-only, on top of it (the P above).
/// Pure: no I/O, unit-tested.
std::vector<std::string> sandbox_argv(const std::string& bwrap, const std::vector<std::string>& argv,
                                      const std::string& cwd);

/// A server command made ready for the sandbox, or why it cannot be.
struct SandboxCommand {
  std::vector<std::string> argv;  ///< bwrap … -- server…; empty when `problem` is set
  std::string problem;            ///< non-empty: do not start anything (never fall back to no sandbox)
};

/// Finds `bwrap` and the server's executable on `path_list`, checks that
/// bwrap can create its namespaces here (runs the same sandbox around `true`;
/// called at each server start, so installing bubblewrap needs no restart),
/// then wraps `argv`. Blocking for the probe (a few ms; 5 s at most).
SandboxCommand make_sandboxed(const std::vector<std::string>& argv, const std::string& cwd,
                              const std::string& path_list);

}  // namespace leanproxy::pool
