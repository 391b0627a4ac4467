// Command-line options of `lean-lsp-proxy`, parsed without I/O so they are testable.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "leanproxy/util/log.hpp"

namespace leanproxy::proxy {

struct Options {
  std::vector<std::string> server_command;  ///< argv of the server; empty = default
  std::optional<std::string> root;          ///< --root: server working directory
  std::optional<std::string> log_file;
  log::Level log_level = log::Level::info;
  std::optional<std::string> trace_dir;
  std::size_t max_message_size = 256u << 20;
  int max_restarts = 5;           ///< crashes tolerated within restart_window
  double restart_window_s = 60;   ///< seconds
  enum class CacheMode { on, off, readonly };
  CacheMode cache = CacheMode::on;
  std::optional<std::string> cache_dir;       ///< default: $XDG_CACHE_HOME/lean-lsp-proxy
  long long cache_ttl_s = 30LL * 24 * 3600;   ///< 30 days
  std::size_t cache_max_size = 1ull << 30;    ///< 1 GiB
  /// --on-hit: on a cache hit the server is still told the version (forward)
  /// or only once a request needs the document (lazy).
  enum class OnHit { forward, lazy };
  OnHit on_hit = OnHit::forward;
  /// Subcommand words before `--` (e.g. {"daemon", "stop"}, {"stats"}); empty = proxy.
  std::vector<std::string> command;
  bool no_daemon = false;   ///< --no-daemon (or LEAN_LSP_PROXY_NO_DAEMON=1): run in-process
  bool foreground = false;  ///< daemon --foreground
  bool detached = false;    ///< daemon --detached (internal: started by a client)
  long long idle_timeout_s = 30 * 60;
  bool json = false;        ///< stats --json
  bool advertise_commands = false;  ///< list leanProxy.* in executeCommandProvider
  // Agent checks ($/leanProxy/check, `lean-lsp-proxy check`).
  int check_docs = 2;                 ///< warm check documents per workspace (parallel checks)
  long long check_timeout_ms = 120000;  ///< default deadline of a check without timeoutMs
  std::vector<std::string> warm_headers;  ///< --warm-header: headers kept loaded (e.g. "import Mathlib")
  bool sandbox = false;  ///< --sandbox: check servers run under bubblewrap (pool/sandbox.hpp)
  // The daemon's warm pool of editor servers.
  int pool_spares = 1;              ///< spare servers per key (0: no pool)
  int pool_max_servers = 8;         ///< spares plus sessions' servers
  std::size_t pool_max_memory = 0;  ///< PSS bound per spare (bytes, 0: none)
  long long pool_idle_s = 30 * 60;  ///< an untaken spare is retired after this
  std::set<std::string> given;      ///< flags set on the command line (they beat the settings file)
  bool help = false;
  bool version = false;
};

struct ParseResult {
  Options options;
  std::string error;  ///< non-empty: print it with a hint to --help, exit 2
};

ParseResult parse_options(int argc, const char* const* argv);

/// The --help text.
std::string usage();

/// Makes every path in `options` absolute against the current directory
/// (cache and trace dirs, log file, root, a relative server executable): a
/// daemon runs elsewhere and must see the paths the user meant.
void make_paths_absolute(Options& options);

/// Applies `<dir>/.lean-lsp-proxy.json` (the per-workspace settings file) to
/// `options`, except where a flag was given on the command line. Returns a
/// description of problems (unknown keys, bad values) for the log; a missing
/// file is not a problem.
std::string apply_settings_file(const std::string& dir, Options& options);

/// What vscode-lean4 would run in `dir` when no command is given: `lake serve`
/// when the directory has lakefile.lean / lakefile.toml, else `lean --server`.
std::vector<std::string> default_server_command(const std::string& dir);

}  // namespace leanproxy::proxy
