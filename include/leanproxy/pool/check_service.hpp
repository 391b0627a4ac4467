// Agent checks on warm documents: per workspace, one Lean server of the
// proxy's own with a few private documents whose imports stay loaded; a check
// whose header matches replaces only the body (Lean re-imports only when the
// header changes), in front of the result cache.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leanproxy::cache {
class Store;
}
namespace leanproxy::io {
class EventLoop;
}

namespace leanproxy::pool {

/// Where checks run: the server command, its working directory (Lean's
/// workspace) and environment, as an editor session would run it.
struct CheckTarget {
  std::vector<std::string> argv;
  std::string cwd;
  std::vector<std::string> env;  ///< "K=V"; empty = inherit ours
  std::size_t max_message = 256u << 20;
  int docs = 2;                    ///< warm documents: checks run in parallel up to this
  long long timeout_ms = 120000;   ///< for requests without timeoutMs
  std::vector<std::string> warm_headers;  ///< opened at once (e.g. "import Mathlib")
  bool read_only = false;          ///< serve from the cache, never store
  bool use_cache = true;           ///< false: --cache off for this target
  /// --sandbox: the check server runs under bubblewrap (pool/sandbox.hpp), or
  /// not at all. Part of the workspace key and of the cache key: a sandboxed
  /// and an unsandboxed server never share documents or results.
  bool sandbox = false;
};

/// A reply for `$/leanProxy/check`: a result JSON, or an error (code, message).
struct CheckReply {
  bool error = false;
  int code = 0;
  std::string body;
};

struct CheckStats {
  std::uint64_t checks = 0, cached = 0, ran = 0, ok = 0, timeouts = 0, killed = 0, failed = 0;
  std::uint64_t header_reuse = 0, header_loads = 0, server_starts = 0, server_exits = 0, queued_max = 0;
  std::string to_json() const;
};

/// Invariants: a check never shares a document with another check in flight;
/// a document's worker whose imports changed on disk since it started is
/// restarted before it runs a check; a timed-out, failed or killed check is
/// never stored; editor sessions never see these documents.
class CheckService {
 public:
  /// `store` may be null (no cache).
  CheckService(io::EventLoop& loop, std::shared_ptr<cache::Store> store);
  ~CheckService();
  CheckService(const CheckService&) = delete;
  CheckService& operator=(const CheckService&) = delete;

  /// Runs one `$/leanProxy/check` (params as sent); `done` runs once, on the loop.
  void check(const CheckTarget& target, std::string_view params, std::function<void(CheckReply)> done);
  /// Opens the target's warm headers now (a workspace is created on first use).
  void prewarm(const CheckTarget& target);
  void set_cache_enabled(bool on);
  const CheckStats& stats() const { return stats_; }
  /// {"workspaces": [{root, server_pid, documents: [{uri, header, busy}]}], ...stats}
  std::string status_json() const;
  /// Ends every check server (orderly, then SIGKILL).
  void shutdown();

  struct Workspace;

 private:
  Workspace& workspace(const CheckTarget& target);

  io::EventLoop& loop_;
  std::shared_ptr<cache::Store> store_;
  bool cache_enabled_ = true;
  CheckStats stats_;
  std::map<std::string, std::unique_ptr<Workspace>> workspaces_;
};


/// The directory check documents live in: the workspace's library (its
/// first `lean_lib` / default target directory when it exists), so Lake
/// gives them the same options as the real files; else the workspace root.
std::string check_document_dir(const std::string& root);

}  // namespace leanproxy::pool
