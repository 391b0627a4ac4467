// CLI over the control socket, with a readable stats table.
#include "leanproxy/cli/commands.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "leanproxy/daemon/client.hpp"

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
  row(out, "Cache hits", n(c, "hits"));
  row(out, "  verified by the server", n(c, "verified_hits"));
  row(out, "  MISMATCHES (key missed a dependency)", n(c, "mismatches"));
  row(out, "Cache misses", n(c, "misses"));
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
  return out.str();
}

int run_command(const proxy::Options& o) {
  const auto& cmd = o.command;
  std::string control_cmd, args = "{}";
  if (cmd == std::vector<std::string>{"status"}) control_cmd = "status";
  else if (cmd == std::vector<std::string>{"stats"}) control_cmd = "stats";
  else if (cmd == std::vector<std::string>{"daemon", "stop"}) control_cmd = "stop";
  else if (cmd == std::vector<std::string>{"cache", "clear"}) control_cmd = "cache.clear";
  else if (cmd == std::vector<std::string>{"cache", "enable"}) control_cmd = "cache.enable";
  else if (cmd == std::vector<std::string>{"cache", "disable"}) control_cmd = "cache.disable";
  else if (cmd.size() == 3 && cmd[0] == "cache" && cmd[1] == "explain") {
    control_cmd = "cache.explain";
    args = json{{"uri", "file://" + std::filesystem::absolute(cmd[2]).lexically_normal().string()}}.dump();
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
