// Cache test harness: a simulator workspace, an LSP peer (proxy or direct server) that logs every message, and helpers.
#pragma once

#include "driver.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cachetest {

using json = nlohmann::json;
using simtest::Env;

std::string proxy_bin();                  ///< the lean-lsp-proxy under test
std::string sim_dir();                     ///< the simulator's bin dir (LLP_SIM_BIN_DIR overrides)
std::string sim(const std::string& name);  ///< sim_dir()/<name>
std::string slurp(const std::string& path);
/// Lines of a log file containing `needle`.
int count_lines(const std::string& path, const std::string& needle);

/// A Lake workspace for the simulator in a fresh temp dir, plus a file
/// watcher (polling snapshot) so tests can send `didChangeWatchedFiles` as an
/// editor would for every `.lean` / `.ilean` write.
struct Workspace {
  simtest::TempDir dir;
  std::string root() const { return dir.path; }
  void write(const std::string& rel, const std::string& text) const { dir.write(rel, text); }
  std::string uri(const std::string& rel) const { return dir.uri(rel); }
  /// `lake build` (all modules); returns its exit code.
  int build(const Env& env = {}) const;
  /// Bumps the mtime of a file without changing it.
  void touch(const std::string& rel) const;

  using Snapshot = std::map<std::string, std::string>;  // path -> identity (size/mtime)
  /// Watched files: `.lean` outside `.lake`, and every `.ilean`.
  Snapshot snapshot() const;
  /// Every file under `.lake` (build outputs).
  Snapshot build_snapshot() const;
  /// Copy `.lake` aside / put the copy back (mtimes kept, so a watcher sees
  /// only what is rebuilt afterwards).
  void save_build(const std::string& to) const;
  void restore_build(const std::string& from) const;
  /// didChangeWatchedFiles `changes` for everything that differs from `snap`
  /// (then `snap` is updated); empty array when nothing changed.
  json changes_since(Snapshot& snap) const;
};

/// PATH with sim-bin first, plus extra simulator switches.
Env sim_env(Env extra = {});

/// One LSP client connection to a process: the proxy, or `lake serve` directly.
/// Every received message is kept in order; server→client requests get a null result.
class Peer {
 public:
  Peer(const std::vector<std::string>& argv, const std::string& cwd, const Env& env);
  ~Peer();
  /// initialize (silent diagnostics on, widgets on) + initialized.
  json initialize();
  void notify(const std::string& method, const json& params);
  void open(const std::string& uri, const std::string& text, long version, const char* build_mode = nullptr);
  /// Full-text change sent as one ranged edit (common prefix/suffix), as editors send.
  void change(const std::string& uri, long version, const std::string& old_text, const std::string& new_text);
  void close(const std::string& uri);
  /// Request; returns the reply message. Fails the test on timeout.
  json request(const std::string& method, const json& params, int timeout_ms = 20000);
  /// Client waitForDiagnostics for (uri, version); true if answered {} (not an error).
  bool wait(const std::string& uri, long version, int timeout_ms = 20000);
  /// Reads whatever arrives within `ms` (lets late messages land).
  void drain(int ms);
  /// shutdown + exit; returns the exit status (-1: did not exit in time, then killed).
  int shutdown();
  int pid() const { return srv_->pid(); }

  /// What the client saw for one document version.
  struct Outcome {
    bool seen = false;       ///< any publish / progress for the version
    bool hit = false;        ///< `processing: []` before any publish: served from the cache
    int publishes = 0;       ///< publishes for the version (all time)
    json served;             ///< hit: the publish sent at hit time; miss: the last before the first wait reply
    json last;               ///< the last publish for the version so far (client-visible state)
  };
  Outcome outcome(const std::string& uri, long version) const;
  const std::vector<json>& log() const { return log_; }

 private:
  std::optional<json> next(int timeout_ms);
  std::unique_ptr<simtest::Server> srv_;
  std::vector<json> log_;
  std::map<std::string, std::size_t> first_wait_reply_;  // "uri#v" -> log index of the first wait's reply
  int next_id_ = 1;
  bool down_ = false;
};

/// A proxy in front of the simulator's `lake serve` in `ws`.
struct ProxyOpts {
  std::string cache_dir;
  std::string log_file;
  std::vector<std::string> extra;  ///< more proxy options (e.g. --cache readonly)
  Env env;                         ///< simulator switches
};
std::unique_ptr<Peer> start_proxy(const std::string& ws_root, const ProxyOpts& o);
std::unique_ptr<Peer> start_direct(const std::string& ws_root, const Env& env);

}  // namespace cachetest
