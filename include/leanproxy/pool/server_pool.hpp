// The warm pool for editor sessions: per server key, spare Lean servers that
// are started, initialized and pre-warmed before a client asks, and handed to
// the next session of that key. A spare serves exactly one client and is
// retired with it (a fresh spare takes its place), so no state leaks from one
// client to the next and "Restart Server" always gets a fresh server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "leanproxy/io/server_process.hpp"

namespace leanproxy::io {
class EventLoop;
class FramedStream;
}  // namespace leanproxy::io

namespace leanproxy::pool {

class ServerConnection;

/// What a spare is started for: the session's server command, workspace and
/// environment, and the client's `initialize` params (Lean hands what it reads
/// there — capability flags, editDelay, hasWidgets — to every worker, so a
/// server only fits clients that sent the same).
struct SpareSpec {
  std::vector<std::string> argv;
  std::string cwd;
  std::vector<std::string> env;
  std::string initialize_params;  ///< the client's, as sent
  std::size_t max_message = 256u << 20;
};

/// The pool key of a session: everything above, with `initialize` reduced to
/// the fields Lean reads (processId, rootUri, workspaceFolders, clientInfo and
/// trace do not change a Lean server's behaviour).
std::string pool_key(const SpareSpec& spec);

/// A server handed to a session: the live process and its stream (handlers
/// and callbacks to be set by the new owner), what it answered `initialize`,
/// the registrations it asked for (to be replayed to the client), and the
/// private warm-up document the session must hide from the client (its
/// didClose was sent; Lean answers with an empty publish).
struct Adopted {
  std::unique_ptr<io::ServerProcess> process;
  std::unique_ptr<io::FramedStream> stream;
  std::string initialize_result;
  std::vector<std::string> registrations;  ///< `client/registerCapability` params
  std::string hidden_uri;
};

struct PoolLimits {
  int spares_per_key = 1;  ///< 0: no pool
  int max_servers = 8;     ///< spares plus sessions' servers
  std::uint64_t max_pss_kib = 0;  ///< a spare whose tree exceeds this is retired (0: no limit)
  std::chrono::seconds idle_ttl{30 * 60};  ///< an untaken spare is retired after this
  std::chrono::milliseconds spawn_delay{1000};  ///< after a session starts, before its spare is spawned
};

struct PoolStats {
  std::uint64_t spawns = 0, ready = 0, attaches_warm = 0, attaches_cold = 0, crashes = 0;
  std::uint64_t retired_idle = 0, retired_memory = 0, retired_config = 0;
  double last_cold_start_ms = 0, last_warm_attach_ms = 0;
};

class ServerPool {
 public:
  ServerPool(io::EventLoop& loop, PoolLimits limits);
  ~ServerPool();
  ServerPool(const ServerPool&) = delete;
  ServerPool& operator=(const ServerPool&) = delete;

  /// True when a spare for this server command, workspace and environment
  /// exists (ready or starting), whatever its initialize params: the session
  /// then waits for its client's `initialize` before starting a server.
  bool may_serve(const std::vector<std::string>& argv, const std::string& cwd, const std::vector<std::string>& env) const;
  /// Hands a spare for `spec` to `done` (at once when ready, later when it is
  /// still starting), or null when there is none: the session starts its own.
  void take(const SpareSpec& spec, std::function<void(std::unique_ptr<Adopted>)> done);
  /// A session started a server of its own without asking (no spare could fit).
  void note_cold_start() { ++stats_.attaches_cold; }
  /// A session of this spec runs: keep a spare for the next one.
  void learn(const SpareSpec& spec);
  /// A header (the import lines) that a session opened: the hottest of the
  /// workspace is opened on its spares, so its imports are built and read.
  void note_header(const std::string& cwd, const std::string& header_text);
  /// The learnt headers as JSON ({cwd: {header: opens}}), to persist with the
  /// cache, and loading them back (malformed input is ignored).
  std::string headers_json() const;
  void load_headers(const std::string& json_text);
  /// Pinned warm headers (--warm-header), opened on every spare of `cwd`.
  void pin_headers(const std::string& cwd, const std::vector<std::string>& headers);
  /// Sessions' own servers, for the total limit.
  void set_active_servers(int n) { active_ = n; }
  /// Retires the spares of `cwd` (all when empty) and starts fresh ones:
  /// after a build, so no spare holds old imports or configuration.
  void refresh(const std::string& cwd = {});
  /// The "pool" object of the stats schema.
  std::string stats_json() const;
  void shutdown();

  struct Spare;

 private:
  void spawn(const std::string& key, const SpareSpec& spec);
  void warm_up(Spare& s);
  void mark_ready(Spare& s);
  void take_spare(Spare& s, std::function<void(std::unique_ptr<Adopted>)> done);
  void retire(Spare& s, const char* why);
  void check_limits();
  void replenish(const std::string& key);
  std::string hottest_header(const std::string& cwd) const;
  int total_servers() const;
  std::chrono::milliseconds sweep_every() const;
  bool live(const Spare* s, std::uint64_t serial) const;  ///< still one of ours (callbacks may outlive a spare)

  io::EventLoop& loop_;
  PoolLimits limits_;
  PoolStats stats_;
  int active_ = 0;
  std::map<std::string, SpareSpec> specs_;  ///< learnt, by key
  std::map<std::string, int> failures_;     ///< spares that died before being ready, in a row, by key
  std::vector<std::unique_ptr<Spare>> spares_;
  std::vector<std::unique_ptr<ServerConnection>> retiring_;  ///< shut down, not yet ended
  std::map<std::string, std::map<std::string, int>> headers_;  ///< cwd → header → opens
  std::map<std::string, std::vector<std::string>> pinned_;
  std::unique_ptr<io::EventLoop::Timer> sweep_timer_;
  std::map<std::string, std::unique_ptr<io::EventLoop::Timer>> spawn_timers_;
  bool stopping_ = false;
  std::uint64_t serial_ = 0;
  std::shared_ptr<bool> token_ = std::make_shared<bool>(true);
};

}  // namespace leanproxy::pool
