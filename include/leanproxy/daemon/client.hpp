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

/// The editor's session through the daemon: sends the hello (argv, cwd,
/// environment), then relays stdin/stdout byte for byte. Returns the exit
/// status, or nullopt (with `error`) when no daemon could be reached, so the
/// caller can run in-process instead.
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
