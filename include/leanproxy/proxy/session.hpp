// One editor session: a client connection (stdio or a daemon socket), one
// server child process, the router and interceptors in between, restarts and
// an orderly end. run_stdio_session() is the whole in-process proxy.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::cache {
class Store;
}
namespace leanproxy::io {
class EventLoop;
}
namespace leanproxy::pool {
class CheckService;
class Environment;
class ServerPool;
struct CheckTarget;
}

namespace leanproxy::proxy {

struct SessionConfig {
  Options options;
  std::vector<std::string> argv;  ///< the server command (defaults resolved)
  std::string cwd;                ///< the server's working directory (Lean's workspace)
  std::vector<std::string> env;   ///< "K=V" for the server; empty = inherit ours
  std::shared_ptr<cache::Store> store;  ///< null: no cache for this session
  std::string cache_notice;             ///< told to the client once (moved aside, locked, …)
  /// Runs `$/leanProxy/check` (the daemon's, shared by its sessions); null:
  /// the session starts one of its own on the first check.
  pool::CheckService* checks = nullptr;
  /// The daemon's warm pool: a spare server for this session's key is taken
  /// when the client's `initialize` arrives; null: always a server of its own.
  pool::ServerPool* pool = nullptr;
  /// Runs `leanProxy.environment.*` (the daemon's, shared by its sessions so
  /// a second optimize of a workspace joins the first); null: the session
  /// starts one of its own on first use.
  pool::Environment* environment = nullptr;
  /// Daemon sessions: a session ending before the client's `exit` first sends
  /// the client (the editor's relay) `$/leanProxy/sessionEnding`, so the relay
  /// ends too instead of taking the closed connection for a dead daemon.
  bool announce_end = false;
};

/// The notification of SessionConfig::announce_end.
inline constexpr const char* session_ending_method = "$/leanProxy/sessionEnding";

/// Where a session's agent checks run: its server command, workspace,
/// environment and check options.
pool::CheckTarget check_target(const SessionConfig& config);

/// True for `lake` / `lean` commands: only Lean servers get the cache (only
/// they answer waitForDiagnostics and have Lake's artifacts).
bool is_lean_server(const std::vector<std::string>& argv);

/// Resolves the server command and working directory from options.
SessionConfig session_config(const Options& options);

/// Opens the cache store the options ask for; null when --cache=off.
/// `notice` is set when the user should be told something.
std::shared_ptr<cache::Store> open_cache(const Options& options, std::string& notice);

class Session {
 public:
  /// Takes ownership of the client descriptors (equal for a socket).
  /// `on_done(exit_code)` runs on the loop once the session is over and what
  /// the client is owed has been written.
  Session(io::EventLoop& loop, int client_read_fd, int client_write_fd, SessionConfig config,
          std::function<void(int)> on_done);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Starts the server and begins reading the client. False (with `error`)
  /// when the server cannot be started.
  bool start(std::string& error);
  /// The same in two steps, for the daemon: the server first (so a failure
  /// can still be reported in the hello reply), then the client. A server
  /// does not speak before the client has (LSP), so nothing is written to the
  /// client in between.
  bool start_server(std::string& error);
  void attach_client();
  /// Ends the session politely (shutdown + exit to the server, then signals).
  void stop();
  /// This session's part of the stats: {"proxy": {...}, "cache": {...}|null}.
  std::string stats_json() const;
  /// Turns this session's cache on or off (no-op without a cache).
  void set_cache_enabled(bool on);
  /// What leanProxy.cache.explain says of `uri` from this session's memory:
  /// the uri as opened here and the explanation without the last stored key
  /// (a store read, left to the caller: off the loop), or nullopt when the
  /// document is not open here.
  struct LiveExplain {
    std::string uri, now;
  };
  std::optional<LiveExplain> explain_live(const std::string& uri) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// The in-process proxy on stdin/stdout; returns the exit status.
int run_stdio_session(const Options& options);

}  // namespace leanproxy::proxy
