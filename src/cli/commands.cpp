// CLI over the control socket, with a readable stats table.
#include "leanproxy/cli/commands.hpp"

#include <algorithm>
#include <ctime>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "leanproxy/daemon/client.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/pool/environment.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"
#include "leanproxy/util/uri.hpp"

#include <unistd.h>

extern char** environ;

namespace leanproxy::cli {
using nlohmann::json;

namespace {
std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char out[32];
  std::snprintf(out, sizeof out, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return out;
}

void row(std::ostringstream& out, const std::string& label, const std::string& value) {
  out << label;
  for (std::size_t i = label.size(); i < 42; ++i) out << ' ';
  out << value << '\n';
}
}  // namespace

std::string format_stats(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return text + "\n";
  std::ostringstream out;
  const json c = j.value("cache", json::object());
  const json p = j.value("proxy", json::object());
  auto n = [](const json& o, const char* k) { return std::to_string(o.value(k, 0ull)); };
  row(out, "Cache entries", n(c, "entries") + " (" + human_bytes(c.value("bytes", 0.0)) + ")");
  row(out, "Cache hits (editor sessions)", n(c, "hits"));
  row(out, "  verified by the server", n(c, "verified_hits"));
  row(out, "  MISMATCHES (key missed a dependency)", n(c, "mismatches"));
  row(out, "Cache misses (editor sessions)", n(c, "misses"));
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f %%", 100.0 * c.value("hit_rate", 0.0));
  row(out, "Cache hit rate", rate);
  row(out, "Results stored", n(c, "stores"));
  row(out, "Goal / hover answers from cache", n(c, "answer_hits"));
  char saved[32];
  std::snprintf(saved, sizeof saved, "%.1f s", c.value("elaboration_ms_saved", 0.0) / 1000.0);
  row(out, "Elaboration time saved", saved);
  char lat[64];
  std::snprintf(lat, sizeof lat, "%.0f / %.0f µs", c.value("lookup_p50_us", 0.0), c.value("lookup_p99_us", 0.0));
  row(out, "Lookup latency p50 / p99", lat);
  row(out, "Evictions / expirations", n(c, "evictions") + " / " + n(c, "expirations"));
  for (const char* m : {"uncacheable", "skipped"}) {
    if (!c.contains(m) || !c[m].is_object()) continue;
    for (auto& [reason, count] : c[m].items())
      row(out, std::string(m == std::string("uncacheable") ? "Uncacheable: " : "Not stored: ") + reason,
          std::to_string(count.get<unsigned long long>()));
  }
  row(out, "Sessions (active / total)", n(p, "sessions") + " / " + n(p, "sessions_total"));
  row(out, "Messages client -> server", n(p, "messages_from_client"));
  row(out, "Messages server -> client", n(p, "messages_from_server"));
  row(out, "Server restarts", n(p, "server_restarts"));
  row(out, "Daemon uptime", n(p, "uptime_s") + " s");
  if (j.contains("checks") && j["checks"].is_object()) {
    const json& k = j["checks"];
    row(out, "Agent checks (ok / total)", n(k, "ok") + " / " + n(k, "checks"));
    row(out, "  from the cache", n(k, "cached"));
    row(out, "  on a warm document (header loaded)", n(k, "header_reuse"));
    row(out, "  loading their header", n(k, "header_loads"));
    row(out, "  timed out / workers killed", n(k, "timeouts") + " / " + n(k, "workers_killed"));
  }
  if (j.contains("pool") && j["pool"].is_object()) {
    const json& q = j["pool"];
    const json sv = q.value("servers", json::object());
    row(out, "Pool: spare servers ready / starting", n(sv, "spare_ready") + " / " +
                                                         std::to_string(sv.value("spare_starting", 0ull) +
                                                                        sv.value("spare_warming", 0ull)));
    row(out, "Pool: sessions warm / cold", n(q, "attaches_warm") + " / " + n(q, "attaches_cold"));
    char ms[64];
    std::snprintf(ms, sizeof ms, "%.0f ms / %.1f ms", q.value("cold_start_ms", 0.0), q.value("warm_attach_ms", 0.0));
    row(out, "Pool: cold start / warm attach (last)", ms);
    row(out, "Pool: spares' memory (PSS)", human_bytes(q.value("spare_pss_kib", 0.0) * 1024));
  }
  if (j.contains("environment") && j["environment"].is_object()) {
    const json& e = j["environment"];
    row(out, "Environment runs (failed / running)", n(e, "runs") + " (" + n(e, "failures") + " / " + n(e, "running") + ")");
  }
  return out.str();
}

namespace {
// The Lake workspace DIR (or the current directory) is in: the nearest
// directory upwards with a lakefile, so `env optimize` works from any file's
// folder (the editor passes one); DIR itself when none has.
std::string workspace_root(const proxy::Options& o) {
  namespace fs = std::filesystem;
  fs::path start = fs::absolute(o.root ? fs::path(*o.root) : fs::current_path()).lexically_normal();
  std::error_code ec;
  for (fs::path d = start; !d.empty(); d = d.parent_path()) {
    if (fs::exists(d / "lakefile.lean", ec) || fs::exists(d / "lakefile.toml", ec)) {
      start = d;
      break;
    }
    if (d == d.root_path()) break;
  }
  auto p = start.string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void print_run(const json& last, const std::string& indent) {
  std::time_t when = last.value("when", 0LL);
  char at[64] = "?";
  if (when) std::strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", std::localtime(&when));
  std::cout << indent << "last run: " << (last.value("ok", false) ? "ok" : "FAILED") << " at " << at << ", "
            << last.value("durationMs", 0LL) << " ms\n";
  if (last.contains("steps"))
    for (const auto& st : last["steps"]) {
      std::string argv;
      for (const auto& a : st.value("argv", json::array())) argv += (argv.empty() ? "" : " ") + a.get<std::string>();
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f s", st.value("seconds", 0.0));
      std::cout << indent << "  " << argv << ": exit " << (st["exitCode"].is_number() ? st["exitCode"].dump() : "-")
                << ", " << secs << "\n";
    }
  if (last.contains("error")) std::cout << indent << "  " << last.value("error", std::string()) << "\n";
}

// `env stats`: the daemon's record of environment runs.
int env_stats(const proxy::Options& o) {
  std::string error;
  json args = {{"root", o.root ? workspace_root(o) : std::string()}};
  auto reply = daemon::control("env.stats", error, false, o, args.dump());
  if (!reply) {
    std::cout << "lean-lsp-proxy: no daemon is running (environment runs are recorded by the daemon)\n";
    return 1;
  }
  json j = json::parse(*reply, nullptr, false);
  if (!j.is_object() || !j.value("ok", false)) {
    std::cerr << "lean-lsp-proxy: " << (j.is_object() ? j.value("error", std::string("failed")) : *reply) << "\n";
    return 1;
  }
  const json e = j.value("environment", json::object());
  if (o.json) {
    std::cout << e.dump(2) << "\n";
    return 0;
  }
  json roots = e.contains("workspaces") ? e["workspaces"] : json::array({e});
  if (roots.empty()) std::cout << "no environment runs recorded\n";
  for (const auto& w : roots) {
    std::cout << w.value("root", std::string()) << (w.value("running", false) ? " (running)" : "") << "\n";
    if (w["last"].is_object()) print_run(w["last"], "  ");
    else std::cout << "  no run recorded\n";
  }
  return 0;
}

// `env optimize`: through the daemon (streamed progress), else in-process.
int env_optimize(const proxy::Options& o) {
  if (!o.given.count("--log-level")) log::set_level(std::max(log::level(), log::Level::warn));
  std::signal(SIGPIPE, SIG_IGN);
  const std::string root = workspace_root(o);
  const bool tty = ::isatty(2);
  bool bar_shown = false;
  auto show = [&](const std::string& message, std::optional<int> percent) {
    if (!tty) {
      std::fprintf(stderr, "%s\n", message.c_str());
      return;
    }
    std::string text = message.size() > 60 ? message.substr(0, 57) + "..." : message;
    if (percent) {
      int fill = std::clamp(*percent, 0, 100) * 30 / 100;
      std::fprintf(stderr, "\r[%s%s] %3d%% %s\033[K", std::string(static_cast<std::size_t>(fill), '#').c_str(),
                   std::string(static_cast<std::size_t>(30 - fill), '.').c_str(), *percent, text.c_str());
    } else {
      std::fprintf(stderr, "\r%s\033[K", text.c_str());
    }
    std::fflush(stderr);
    bar_shown = true;
  };
  std::optional<std::string> result;
  if (!o.no_daemon) {
    json args = {{"root", root}, {"env", json::array()}, {"lake", "lake"}};
    for (char** e = environ; e && *e; ++e) args["env"].push_back(*e);
    std::string error;
    auto reply = daemon::control_stream("env.optimize", error, true, o, args.dump(-1, ' ', false, json::error_handler_t::replace),
                                        [&](const std::string& p) {
                                          json j = json::parse(p, nullptr, false);
                                          if (!j.is_object()) return;
                                          std::optional<int> pct;
                                          if (j["percent"].is_number_integer()) pct = j["percent"].get<int>();
                                          show(j.value("message", std::string()), pct);
                                        });
    if (reply) {
      json j = json::parse(*reply, nullptr, false);
      if (!j.is_object() || !j.value("ok", false) || !j["result"].is_object()) {
        if (bar_shown) std::fprintf(stderr, "\r\033[K");
        std::cerr << "lean-lsp-proxy: " << (j.is_object() ? j.value("error", std::string("bad reply")) : *reply) << "\n";
        return 1;
      }
      result = j["result"].dump();
    } else {
      log::info("no lean-lsp-proxy daemon (" + error + "); optimizing in this process");
    }
  }
  if (!result) {
    proc::become_subreaper();
    io::EventLoop loop;
    pool::Environment env(loop);
    env.optimize({root, {}, "lake"}, show, [&](const std::string& r) {
      result = r;
      loop.stop();
    });
    loop.on_signals({SIGINT, SIGTERM}, [&](int) {
      env.shutdown();
      loop.stop();
    });
    loop.on_signals({SIGCHLD}, [](int) { proc::reap_orphans(); });
    if (!result) loop.run();
    if (!result) {
      if (bar_shown) std::fprintf(stderr, "\r\033[K");
      std::cerr << "lean-lsp-proxy: interrupted\n";
      return 1;
    }
  }
  if (bar_shown) std::fprintf(stderr, "\r\033[K");
  json r = json::parse(*result, nullptr, false);
  bool ok = r.is_object() && r.value("ok", false);
  if (o.json) {
    std::cout << r.dump(2) << "\n";
  } else if (ok) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", r.value("durationMs", 0.0) / 1000.0);
    std::cout << "environment of " << root << " is up to date (" << r["steps"].size() << " step"
              << (r["steps"].size() == 1 ? "" : "s") << ", " << secs << ")\n";
  }
  if (!ok) {
    std::cerr << "lean-lsp-proxy: environment optimize failed: "
              << (r.is_object() ? r.value("error", std::string("unknown error")) : *result) << "\n";
    if (r.is_object() && r["lastLines"].is_array() && !r["lastLines"].empty()) {
      std::cerr << "last output:\n";
      for (const auto& l : r["lastLines"]) std::cerr << "  " << l.get<std::string>() << "\n";
    }
  }
  return ok ? 0 : 1;
}
}  // namespace

int run_command(const proxy::Options& o) {
  const auto& cmd = o.command;
  if (cmd == std::vector<std::string>{"env", "optimize"}) return env_optimize(o);
  if (cmd == std::vector<std::string>{"env", "stats"}) return env_stats(o);
  std::string control_cmd, args = "{}";
  if (cmd == std::vector<std::string>{"status"}) control_cmd = "status";
  else if (cmd == std::vector<std::string>{"stats"}) control_cmd = "stats";
  else if (cmd == std::vector<std::string>{"daemon", "stop"}) control_cmd = "stop";
  else if (cmd == std::vector<std::string>{"cache", "clear"}) control_cmd = "cache.clear";
  else if (cmd == std::vector<std::string>{"cache", "enable"}) control_cmd = "cache.enable";
  else if (cmd == std::vector<std::string>{"cache", "disable"}) control_cmd = "cache.disable";
  else if (cmd.size() == 3 && cmd[0] == "cache" && cmd[1] == "explain") {
    control_cmd = "cache.explain";
    args = json{{"uri", util::file_uri(std::filesystem::absolute(cmd[2]).lexically_normal().string())}}.dump();
  }
  std::string error;
  auto reply = daemon::control(control_cmd, error, false, o, args);
  if (!reply) {
    if (control_cmd == "stop" || control_cmd == "status") {
      std::cout << "lean-lsp-proxy: no daemon is running\n";
      return control_cmd == "stop" ? 0 : 1;
    }
    std::cerr << "lean-lsp-proxy: " << error << "\n"
              << "The daemon starts with the first editor session, or with `lean-lsp-proxy daemon`.\n";
    return 1;
  }
  json j = json::parse(*reply, nullptr, false);
  if (!j.is_object() || !j.value("ok", false)) {
    std::cerr << "lean-lsp-proxy: " << (j.is_object() ? j.value("error", std::string("failed")) : *reply) << "\n";
    return 1;
  }
  if (control_cmd == "stats") {
    std::string stats = j["stats"].dump(o.json ? 2 : -1);
    std::cout << (o.json ? stats + "\n" : format_stats(stats));
  } else if (control_cmd == "status") {
    std::cout << "daemon running: pid " << j.value("pid", 0) << ", socket " << j.value("socket", std::string()) << "\n"
              << "sessions: " << j.value("sessions", 0) << " active, " << j.value("sessions_total", 0) << " total\n"
              << "cache: " << j.value("cache_mode", std::string("?")) << "\n"
              << "uptime: " << j.value("uptime_s", 0) << " s\n";
  } else if (control_cmd == "stop") {
    // Return once it is gone: its cache store is free for whoever comes next.
    pid_t pid = j.value("pid", 0);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (pid > 0 && ::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::cout << "daemon stopped\n";
  } else if (control_cmd == "cache.clear") {
    std::cout << "cleared " << j.value("cleared", 0) << " cache entries\n";
  } else if (control_cmd == "cache.enable" || control_cmd == "cache.disable") {
    std::cout << "cache " << (j.value("enabled", false) ? "enabled" : "disabled") << " for every session\n";
  } else if (control_cmd == "cache.explain") {
    const json e = j.value("explain", json::object());
    if (o.json) {
      std::cout << e.dump(2) << "\n";
    } else {
      std::cout << e.value("uri", std::string()) << " (version " << e.value("version", 0) << ")\n"
                << "  " << e.value("verdict", std::string("?")) << "\n";
      if (e.contains("components"))
        for (auto& [name, digest] : e["components"].items()) {
          bool differs = e.contains("differs_from_last_stored") &&
                         std::find(e["differs_from_last_stored"].begin(), e["differs_from_last_stored"].end(), name) !=
                             e["differs_from_last_stored"].end();
          std::cout << "  " << (differs ? "* " : "  ") << name << " " << digest.get<std::string>().substr(0, 16) << "\n";
        }
    }
  }
  return 0;
}

}  // namespace leanproxy::cli
