// The server's own reaper: a tiny process (this executable, `__reaper -- argv`)
// between the proxy and each server. It is a child subreaper, so Lean's
// workers (in sessions of their own) stay inside it, and when the server
// exits, or the reaper is told to stop, it ends the server's whole tree before
// exiting with the server's status. One tree per server, so a daemon running
// many sessions can end one server's processes without touching another's.
#pragma once

#include <string>
#include <vector>

namespace leanproxy::util {

/// The hidden first argument that selects reaper mode in main().
inline constexpr const char* reaper_command = "__reaper";

/// Runs `argv` as the reaped server; returns only on failure to start it (127).
/// The process ends with the server's exit status, or its terminating signal.
int reaper_main(const std::vector<std::string>& argv);

/// This executable's path (/proc/self/exe), for spawning the reaper.
std::string self_executable();

}  // namespace leanproxy::util
