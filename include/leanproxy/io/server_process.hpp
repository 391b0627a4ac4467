// A language server child process (Boost.Process v2): argv only (never a
// shell), its working directory and environment, stdio over pipes, stderr to
// the log, and an exit notification. The server runs under its own reaper
// (util/reaper.hpp), which ends the server's whole process tree with it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "leanproxy/io/event_loop.hpp"

namespace leanproxy::io {

class ServerProcess {
 public:
  struct Spec {
    std::vector<std::string> argv;  ///< argv[0] is looked up on PATH unless it has a '/'
    std::string cwd;
    /// "KEY=VALUE" entries; empty = inherit ours. PATH lookups of argv[0] use
    /// this environment's PATH (it decides which `lake` / `lean` run).
    std::vector<std::string> env;
  };
  struct Callbacks {
    std::function<void(const std::string& line)> on_stderr_line;
    /// The process ended; `description` reads like "exit code 1" or "signal 9 (Killed)".
    std::function<void(int status, const std::string& description)> on_exit;
  };

  /// Starts the server. Throws std::runtime_error with a user-facing message
  /// when it cannot be started (not found, not executable, bad directory).
  static std::unique_ptr<ServerProcess> spawn(EventLoop& loop, const Spec& spec, Callbacks callbacks);
  virtual ~ServerProcess() = default;

  virtual pid_t pid() const = 0;
  virtual bool running() const = 0;
  /// Our ends of the server's stdin (write) and stdout (read); ownership moves
  /// to the caller, once.
  virtual int take_stdin_fd() = 0;
  virtual int take_stdout_fd() = 0;
  /// Replaces the callbacks (a pooled server handed to a session).
  virtual void set_callbacks(Callbacks callbacks) = 0;
  virtual void terminate() = 0;  ///< SIGTERM
  virtual void kill() = 0;       ///< SIGKILL
};

/// A readable description of a wait status.
std::string describe_wait_status(int status);

}  // namespace leanproxy::io
