// Runs a short helper command (argv, no shell) and captures its stdout, with a
// deadline: used for `lean --version`, `lake env`, `lean --print-prefix`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace leanproxy::util {

struct Captured {
  int status = -1;  ///< wait status; -1 when it could not be started
  std::string out;  ///< stdout (capped at 1 MiB)
  bool timed_out = false;
  bool ok() const;  ///< exited with code 0 in time
};

/// Blocking; call it off the I/O thread. stdin is /dev/null; stderr is
/// discarded, or captured with stdout when `with_stderr` (a reason to show).
Captured run_capture(const std::vector<std::string>& argv, const std::string& cwd,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30), bool with_stderr = false);

}  // namespace leanproxy::util
