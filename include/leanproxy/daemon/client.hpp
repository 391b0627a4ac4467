// The daemon's clients: the thin stdio relay an editor starts, the daemon
// auto-start (race-free), and one-shot control requests for the CLI.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::daemon {

/// Connects to the daemon, starting it if absent (two starters never race:
/// they serialise on the daemon lock). Returns a connected socket, or -1 with
/// `error` set.
int connect_or_start(const proxy::Options& cache_options, std::string& error, bool start = true);

/// A session connection to the daemon, after its hello was accepted.
struct SessionLink {
  int fd = -1;            ///< connected socket; -1: see `error`
  long daemon_pid = 0;
  std::string rest;       ///< bytes the daemon sent after its hello reply
  std::string error;
  bool fatal = false;     ///< the daemon works but this session's server cannot start
};
/// Connects (starting a daemon if needed) and sends the session hello (argv,
/// cwd, environment from `options` and this process).
SessionLink open_session(const proxy::Options& options);

/// The editor's session through the daemon (daemon/relay.cpp): a router on
/// stdin/stdout whose server is the daemon connection, so a daemon that dies
/// is replaced — a new daemon, else an in-process proxy — with the documents
/// replayed. Returns the exit status, or nullopt (with `error`) when no
/// daemon could be reached at the start, so the caller runs in-process.
std::optional<int> run_via_daemon(const proxy::Options& options, std::string& error);

/// A `checks` connection for `lean-lsp-proxy check`: after the hello, a
/// JSON-RPC stream of `$/leanProxy/check` requests served by the daemon's
/// check service. Returns the connected socket, or -1 with `error`.
int open_checks_connection(const proxy::Options& options, std::string& error);
/// One control request ("status", "stats", "stop", "cache.clear"); the
/// daemon's reply JSON, or nullopt with `error` set (no daemon is running).
std::optional<std::string> control(const std::string& command, std::string& error, bool start = false,
                                   const proxy::Options& cache_options = {}, const std::string& args_json = "{}");
/// A control request whose reply is streamed ("env.optimize"): frames
/// `{"progress": {...}}` go to `on_progress` (the object's JSON) until the
/// final reply, which is returned; nullopt with `error` when no daemon could
/// be reached (`start`: start one) or the connection broke.
std::optional<std::string> control_stream(const std::string& command, std::string& error, bool start,
                                          const proxy::Options& cache_options, const std::string& args_json,
                                          const std::function<void(const std::string&)>& on_progress);

}  // namespace leanproxy::daemon
