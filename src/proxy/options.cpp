// Option parsing for the proxy executable.
#include "leanproxy/proxy/options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

namespace leanproxy::proxy {
namespace {

bool parse_size(std::string_view s, std::size_t& out) {
  // Accepts plain bytes or a K/M/G suffix (powers of 1024).
  std::size_t mult = 1;
  if (!s.empty()) {
    char c = s.back();
    if (c == 'K' || c == 'k') mult = 1u << 10;
    else if (c == 'M' || c == 'm') mult = 1u << 20;
    else if (c == 'G' || c == 'g') mult = 1u << 30;
    if (mult != 1) s.remove_suffix(1);
  }
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v == 0) return false;
  if (v > (~0ull) / mult) return false;
  out = static_cast<std::size_t>(v * mult);
  return true;
}

bool parse_duration(std::string_view s, long long& out) {
  // Seconds, or a number with s/m/h/d.
  long long mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 's': mult = 1; s.remove_suffix(1); break;
      case 'm': mult = 60; s.remove_suffix(1); break;
      case 'h': mult = 3600; s.remove_suffix(1); break;
      case 'd': mult = 86400; s.remove_suffix(1); break;
      default: break;
    }
  }
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v <= 0) return false;
  constexpr long long kMax = 100LL * 365 * 86400;  // a century: anything longer is a typo
  if (v > kMax / mult) return false;
  out = v * mult;
  return true;
}

bool parse_on_hit(std::string_view s, Options::OnHit& out) {
  if (s == "forward") out = Options::OnHit::forward;
  else if (s == "lazy") out = Options::OnHit::lazy;
  else return false;
  return true;
}

}  // namespace

std::string usage() {
  return R"(lean-lsp-proxy — a caching, restarting LSP proxy for Lean 4

Usage:
  lean-lsp-proxy [options] [-- <server command...>]   run as an editor's server
  lean-lsp-proxy daemon [--foreground] [--idle-timeout D] [cache options]
  lean-lsp-proxy daemon stop
  lean-lsp-proxy check [--json] FILE... | -            proof-check files (Lean-style output;
                                                       exit 1 when any is not ok)
  lean-lsp-proxy shims install DIR                     `lake` / `lean` shims for editors (see README)
  lean-lsp-proxy status                                daemon up? pid, socket, sessions
  lean-lsp-proxy stats [--json]                        cache and proxy statistics
  lean-lsp-proxy cache clear | enable | disable
  lean-lsp-proxy cache explain FILE                    why FILE's last lookup hit or missed
  lean-lsp-proxy env optimize [--root DIR] [--json]    `lake exe cache get` (Mathlib) + `lake build`;
                                                       exit 1 on failure
  lean-lsp-proxy env stats [--root DIR] [--json]       the daemon's record of environment runs

Runs between an editor (stdin/stdout) and a Lean language server. Without a
server command it runs what vscode-lean4 runs: `lake serve` when the working
directory (or --root) has lakefile.lean / lakefile.toml, else `lean --server`.

By default the session runs in the per-user daemon (started on first use,
socket in $XDG_RUNTIME_DIR/lean-lsp-proxy), which owns the cache and serves
every editor window; when the daemon cannot be reached the proxy runs
in-process and says so in its log.

Options:
  --advertise-commands       list the leanProxy.* commands in executeCommandProvider
                             (off: VS Code registers advertised ids globally and
                             vscode-lean4 runs one client per folder)
  --no-daemon                run in this process (also LEAN_LSP_PROXY_NO_DAEMON=1)
  --idle-timeout DURATION    daemon: exit after this long without sessions (30m)
  --root DIR                 working directory of the server (default: current)
  --log-file FILE            append the log to FILE (default: stderr)
  --log-level LEVEL          trace|debug|info|warn|error|off (default: info)
  --trace-dir DIR            write every message in both directions to
                             DIR/trace-<time>-<pid>.jsonl (a session transcript)
  --max-message-size BYTES   largest accepted message, K/M/G suffixes allowed
                             (default: 256M); larger ones are skipped and logged
  --cache on|off|readonly    the proof-check cache (default: on)
  --cache-dir DIR            where it lives (default: $XDG_CACHE_HOME/lean-lsp-proxy)
  --cache-ttl DURATION       entries expire after this long: seconds or
                             30d / 12h / 90m (default: 30d)
  --cache-max-size BYTES     size bound, least recently used entries evicted
                             first (default: 1G)
  --on-hit forward|lazy      on a cache hit the server is still told the version
                             and the hit verified (forward, default), or told only
                             once a request needs the document (lazy)
  --check-docs N             agent checks: warm documents per workspace, i.e.
                             checks run in parallel (default: 2)
  --check-timeout DURATION   agent checks without timeoutMs: deadline, seconds or
                             90s / 5m (default: 120s); then cancel, then kill
  --warm-header TEXT         keep a check document with this header loaded
                             (repeatable), e.g. --warm-header 'import Mathlib'
  --sandbox                  agent checks: run the check server under bubblewrap
                             (bwrap): no network, every file read-only, a private
                             /tmp; it can still read what you can read. Imports
                             must be built beforehand. Fails rather than run
                             unsandboxed when bwrap is missing or cannot work
  --pool-spares N            daemon: spare Lean servers kept started and warm per
                             workspace (and server command, environment, client
                             settings), each serving one editor session (default: 1;
                             0: no pool)
  --pool-max-servers N       daemon: at most this many servers, spares included (8)
  --pool-max-memory BYTES    daemon: retire a spare whose processes use more (PSS)
  --pool-idle DURATION       daemon: retire a spare nobody took for this long (30m)
  --max-restarts N           server crashes tolerated within the restart window
                             before giving up (default: 5)
  --restart-window SECONDS   the window for --max-restarts (default: 60)
  -h, --help                 show this help
  --version                  show the version

Exit status: 0 after `shutdown` + `exit`, 1 after `exit` without `shutdown` or
when the server keeps crashing, 2 on bad usage.
)";
}

ParseResult parse_options(int argc, const char* const* argv) {
  ParseResult r;
  Options& o = r.options;
  auto need = [&](int& i, std::string_view flag) -> const char* {
    if (i + 1 >= argc) {
      r.error = std::string(flag) + " needs a value";
      return nullptr;
    }
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    // Accept --flag=value as well as --flag value.
    std::string inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      auto eq = a.find('=');
      if (eq != std::string_view::npos) {
        inline_value = std::string(a.substr(eq + 1));
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto value = [&]() -> const char* { return has_inline ? inline_value.c_str() : need(i, a); };

    if (a.rfind("--", 0) == 0 && a.size() > 2) o.given.insert(std::string(a));
    if (a == "--") {
      for (int k = i + 1; k < argc; ++k) o.server_command.emplace_back(argv[k]);
      break;
    } else if (a == "--advertise-commands") {
      o.advertise_commands = true;
    } else if (a == "--no-daemon") {
      o.no_daemon = true;
    } else if (a == "--sandbox") {
      o.sandbox = true;
    } else if (a == "--foreground") {
      o.foreground = true;
    } else if (a == "--detached") {
      o.detached = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--idle-timeout") {
      const char* v = value();
      if (!v) return r;
      if (!parse_duration(v, o.idle_timeout_s)) {
        r.error = "--idle-timeout expects a positive duration such as 1800 or 30m, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--root") {
      const char* v = value();
      if (!v) return r;
      o.root = v;
    } else if (a == "--log-file") {
      const char* v = value();
      if (!v) return r;
      o.log_file = v;
    } else if (a == "--log-level") {
      const char* v = value();
      if (!v) return r;
      if (!log::parse_level(v, o.log_level)) {
        r.error = "unknown log level '" + std::string(v) + "' (expected trace, debug, info, warn, error or off)";
        return r;
      }
    } else if (a == "--trace-dir") {
      const char* v = value();
      if (!v) return r;
      o.trace_dir = v;
    } else if (a == "--max-message-size") {
      const char* v = value();
      if (!v) return r;
      if (!parse_size(v, o.max_message_size)) {
        r.error = "--max-message-size expects a positive size such as 1048576 or 64M, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--cache") {
      const char* v = value();
      if (!v) return r;
      std::string_view m(v);
      if (m == "on") o.cache = Options::CacheMode::on;
      else if (m == "off") o.cache = Options::CacheMode::off;
      else if (m == "readonly") o.cache = Options::CacheMode::readonly;
      else {
        r.error = "--cache expects on, off or readonly, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--cache-dir") {
      const char* v = value();
      if (!v) return r;
      o.cache_dir = v;
    } else if (a == "--cache-ttl") {
      const char* v = value();
      if (!v) return r;
      if (!parse_duration(v, o.cache_ttl_s)) {
        r.error = "--cache-ttl expects a positive duration such as 86400, 30d or 12h, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--cache-max-size") {
      const char* v = value();
      if (!v) return r;
      if (!parse_size(v, o.cache_max_size)) {
        r.error = "--cache-max-size expects a positive size such as 1G or 500M, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--on-hit") {
      const char* v = value();
      if (!v) return r;
      if (!parse_on_hit(v, o.on_hit)) {
        r.error = "--on-hit expects forward or lazy, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--max-restarts") {
      const char* v = value();
      if (!v) return r;
      std::string_view s(v);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), o.max_restarts);
      if (ec != std::errc() || p != s.data() + s.size() || o.max_restarts < 0) {
        r.error = "--max-restarts expects a non-negative integer, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--check-docs") {
      const char* v = value();
      if (!v) return r;
      char* end = nullptr;
      long n = std::strtol(v, &end, 10);
      if (!end || *end != '\0' || n < 1 || n > 64) {
        r.error = "--check-docs expects an integer from 1 to 64, got '" + std::string(v) + "'";
        return r;
      }
      o.check_docs = static_cast<int>(n);
    } else if (a == "--check-timeout") {
      const char* v = value();
      if (!v) return r;
      long long s = 0;
      if (!parse_duration(v, s)) {
        r.error = "--check-timeout expects a positive duration such as 120, 90s or 5m, got '" + std::string(v) + "'";
        return r;
      }
      o.check_timeout_ms = s * 1000;
    } else if (a == "--pool-spares" || a == "--pool-max-servers") {
      const char* v = value();
      if (!v) return r;
      char* end = nullptr;
      long n = std::strtol(v, &end, 10);
      bool spares = a == "--pool-spares";
      if (!end || *end != '\0' || n < (spares ? 0 : 1) || n > 64) {
        r.error = std::string(a) + " expects an integer from " + (spares ? "0" : "1") + " to 64, got '" + v + "'";
        return r;
      }
      (spares ? o.pool_spares : o.pool_max_servers) = static_cast<int>(n);
    } else if (a == "--pool-idle") {
      const char* v = value();
      if (!v) return r;
      if (!parse_duration(v, o.pool_idle_s)) {
        r.error = "--pool-idle expects a positive duration such as 600, 30m or 2h, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--pool-max-memory") {
      const char* v = value();
      if (!v) return r;
      if (!parse_size(v, o.pool_max_memory)) {
        r.error = "--pool-max-memory expects a positive size such as 4G or 1500M, got '" + std::string(v) + "'";
        return r;
      }
    } else if (a == "--warm-header") {
      const char* v = value();
      if (!v) return r;
      o.warm_headers.emplace_back(v);
    } else if (a == "--restart-window") {
      const char* v = value();
      if (!v) return r;
      char* end = nullptr;
      o.restart_window_s = std::strtod(v, &end);
      if (!end || *end != '\0' || !(o.restart_window_s > 0) || !(o.restart_window_s <= 86400)) {
        r.error = "--restart-window expects a number of seconds in (0, 86400], got '" + std::string(v) + "'";
        return r;
      }
    } else if ((!a.empty() && a[0] != '-') || a == "-") {  // "-": check's standard input
      o.command.emplace_back(a);
    } else {
      r.error = "unknown option '" + std::string(argv[i]) + "'";
      return r;
    }
  }
  static const std::vector<std::vector<std::string>> known = {
      {"daemon"}, {"daemon", "stop"}, {"status"}, {"stats"}, {"cache", "clear"}, {"cache", "enable"}, {"cache", "disable"},
      {"env", "optimize"}, {"env", "stats"}};
  bool explain = o.command.size() == 3 && o.command[0] == "cache" && o.command[1] == "explain";
  bool check = !o.command.empty() && o.command[0] == "check";
  if (!o.command.empty() && !explain && !check && std::find(known.begin(), known.end(), o.command) == known.end()) {
    std::string words;
    for (auto& w : o.command) words += (words.empty() ? "" : " ") + w;
    r.error = "unknown command '" + words + "' (commands: check FILE..., daemon, daemon stop, status, stats, "
              "cache clear, cache enable, cache disable, cache explain FILE, env optimize, env stats; put a server command after --)";
  }
  if (const char* env = std::getenv("LEAN_LSP_PROXY_NO_DAEMON"); env && std::string_view(env) == "1") o.no_daemon = true;
  return r;
}

void make_paths_absolute(Options& o) {
  namespace fs = std::filesystem;
  auto abs = [](std::optional<std::string>& p) {
    if (p && !p->empty()) p = fs::absolute(*p).lexically_normal().string();
  };
  abs(o.cache_dir);
  abs(o.trace_dir);
  abs(o.log_file);
  abs(o.root);
  if (!o.server_command.empty() && o.server_command[0].find('/') != std::string::npos)
    o.server_command[0] = fs::absolute(o.server_command[0]).lexically_normal().string();
}

std::string apply_settings_file(const std::string& dir, Options& o) {
  std::string path = dir + "/.lean-lsp-proxy.json";
  std::ifstream f(path);
  if (!f) return {};
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return path + ": not a JSON object; ignored";
  std::string problems;
  auto bad = [&](const std::string& what) { problems += (problems.empty() ? path + ": " : "; ") + what; };
  for (auto& [key, v] : j.items()) {
    if (key == "cache") {
      if (o.given.count("--cache")) continue;
      std::string m = v.is_string() ? v.get<std::string>() : v.is_boolean() ? (v.get<bool>() ? "on" : "off") : "";
      if (m == "on") o.cache = Options::CacheMode::on;
      else if (m == "off") o.cache = Options::CacheMode::off;
      else if (m == "readonly") o.cache = Options::CacheMode::readonly;
      else bad("\"cache\" must be \"on\", \"off\" or \"readonly\"");
    } else if (key == "onHit") {
      if (o.given.count("--on-hit")) continue;
      if (!v.is_string() || !parse_on_hit(v.get<std::string>(), o.on_hit)) bad("\"onHit\" must be \"forward\" or \"lazy\"");
    } else if (key == "maxRestarts") {
      if (o.given.count("--max-restarts")) continue;
      if (v.is_number_integer() && v.get<int>() >= 0) o.max_restarts = v.get<int>();
      else bad("\"maxRestarts\" must be a non-negative integer");
    } else if (key == "restartWindowSeconds") {
      if (o.given.count("--restart-window")) continue;
      if (v.is_number() && v.get<double>() > 0 && v.get<double>() <= 86400) o.restart_window_s = v.get<double>();
      else bad("\"restartWindowSeconds\" must be a number of seconds in (0, 86400]");
    } else if (key == "maxMessageSize") {
      if (o.given.count("--max-message-size")) continue;
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > 0) o.max_message_size = v.get<std::size_t>();
      else bad("\"maxMessageSize\" must be a positive number of bytes");
    } else if (key == "traceDir") {
      if (o.given.count("--trace-dir")) continue;
      if (v.is_string()) o.trace_dir = (std::filesystem::path(dir) / v.get<std::string>()).lexically_normal().string();
      else bad("\"traceDir\" must be a string (relative to the workspace)");
    } else if (key == "checkDocs") {
      if (o.given.count("--check-docs")) continue;
      if (v.is_number_integer() && v.get<int>() >= 1 && v.get<int>() <= 64) o.check_docs = v.get<int>();
      else bad("\"checkDocs\" must be an integer from 1 to 64");
    } else if (key == "checkTimeoutSeconds") {
      if (o.given.count("--check-timeout")) continue;
      if (v.is_number() && v.get<double>() > 0 && v.get<double>() <= 86400)
        o.check_timeout_ms = static_cast<long long>(v.get<double>() * 1000);
      else bad("\"checkTimeoutSeconds\" must be a number of seconds in (0, 86400]");
    } else if (key == "warmHeaders") {
      if (o.given.count("--warm-header")) continue;
      bool ok = v.is_array();
      if (ok)
        for (auto& h : v) ok = ok && h.is_string();
      if (ok) o.warm_headers = v.get<std::vector<std::string>>();
      else bad("\"warmHeaders\" must be an array of strings (e.g. [\"import Mathlib\"])");
    } else if (key == "sandbox") {
      // A workspace may ask for the sandbox; the command line can only add it
      // (no flag turns it off), so a settings file never weakens --sandbox.
      if (o.given.count("--sandbox")) continue;
      if (v.is_boolean()) o.sandbox = v.get<bool>();
      else bad("\"sandbox\" must be true or false");
    } else if (key == "$schema" || key == "comment") {
      continue;
    } else {
      bad("unknown key \"" + key + "\" (known: cache, onHit, maxRestarts, restartWindowSeconds, maxMessageSize, traceDir, checkDocs, checkTimeoutSeconds, warmHeaders, sandbox)");
    }
  }
  return problems;
}

std::vector<std::string> default_server_command(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "lakefile.lean", ec) || fs::exists(fs::path(dir) / "lakefile.toml", ec))
    return {"lake", "serve"};
  return {"lean", "--server"};
}

}  // namespace leanproxy::proxy
