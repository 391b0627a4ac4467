// cache_bench: reopening a 10 KB / 100 KB / 1 MB Lean document through the
// proxy (in-process, not through the daemon; on pipes, as an editor runs
// it) against the simulator: didOpen → cached publish at the client
// (p50/p99), next to the same open without a cache, plus what a miss (key +
// lookup) adds to a cold open. Not a timed test: `--quick` only checks that
// it runs; the long mode gives the README's figures. Hits are measured with
// --on-hit forward (the default) and --on-hit lazy, side by side, each twice:
// reopens one at a time (the server done with the previous one, as when a
// user reopens a file) and back to back (a storm: the server's work on
// earlier reopens competes).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "stdio_transport.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {


double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

/// The proxy on pipes, spoken to as an editor would.
class Client {
 public:
  Client(const std::vector<std::string>& argv, const std::string& cwd) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      int devnull = ::open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      for (int fd : {to[0], to[1], from[0], from[1]}) ::close(fd);
      if (chdir(cwd.c_str()) != 0) _exit(127);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    out_ = to[1];
    in_ = from[0];
    io_ = std::make_unique<testlsp::StdioTransport>(in_, out_);
    request("initialize", {{"processId", nullptr}, {"rootUri", nullptr},
                           {"capabilities", {{"lean", {{"silentDiagnosticSupport", true}}}}}});
    send({{"jsonrpc", "2.0"}, {"method", "initialized"}, {"params", json::object()}});
  }

  ~Client() {
    request("shutdown", nullptr);
    send({{"jsonrpc", "2.0"}, {"method", "exit"}});
    ::close(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
    ::close(in_);
  }

  void send(const json& m) { io_->write(m.dump()); }

  /// Next message; answers server requests (register_lean_watcher) on the
  /// way. `arrived`: when its bytes had been read, before any parsing (of it
  /// or of a message that came in the same read).
  json next(Clock::time_point* arrived = nullptr) {
    for (;;) {
      auto body = io_->read();
      if (!body) throw std::runtime_error("the proxy closed its output");
      if (arrived) *arrived = io_->read_at();
      json m = json::parse(*body);
      if (m.contains("method") && m.contains("id")) {
        send({{"jsonrpc", "2.0"}, {"id", m["id"]}, {"result", nullptr}});
        continue;
      }
      return m;
    }
  }

  json request(const std::string& method, const json& params) {
    int id = next_id_++;
    json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    send(m);
    for (;;) {
      json r = next();
      if (r.value("id", json()) == id) return r;
    }
  }

  /// didOpen, then waits for the version's first publish (returns ms) and for
  /// its end (waitForDiagnostics); `hit` tells whether `processing: []` came
  /// before any publish (the proxy's cache answered).
  /// Without `done_ms` it returns at the first publish (no waitForDiagnostics:
  /// a served reopen is over for the editor then).
  double open(const std::string& uri, const std::string& text, int version, bool& hit, double* done_ms = nullptr) {
    // Serialised before the clock starts: what is timed is the proxy, not nlohmann.
    std::string open_body = json{{"jsonrpc", "2.0"}, {"method", "textDocument/didOpen"},
                                 {"params", {{"textDocument", {{"uri", uri}, {"languageId", "lean4"},
                                                               {"version", version}, {"text", text}}},
                                             {"dependencyBuildMode", "never"}}}}.dump();
    int wid = next_id_++;
    std::string wait_body = json{{"jsonrpc", "2.0"}, {"id", wid}, {"method", "textDocument/waitForDiagnostics"},
                                 {"params", {{"uri", uri}, {"version", version}}}}.dump();
    auto t0 = Clock::now();
    io_->write(open_body);
    if (done_ms) io_->write(wait_body);
    double first = -1;
    bool done_seen = done_ms == nullptr;
    hit = false;
    while (!(first >= 0 && done_seen)) {
      // The time a message arrived, not after nlohmann has parsed it: what is
      // timed is the proxy, on the way back as on the way out.
      Clock::time_point arrived;
      json m = next(&arrived);
      std::string method = m.value("method", "");
      if (method == "$/lean/fileProgress" && first < 0 && m["params"]["processing"].empty() &&
          m["params"]["textDocument"]["version"] == version)
        hit = true;
      auto ms = std::chrono::duration<double, std::milli>(arrived - t0).count();
      if (method == "textDocument/publishDiagnostics" && m["params"].value("version", -1) == version && first < 0)
        first = ms;
      if (m.value("id", json()) == wid) {
        done_seen = true;
        if (done_ms) *done_ms = ms;
      }
    }
    return first;
  }

  /// Waits until the proxy says `version` is finished (waitForDiagnostics):
  /// under --on-hit forward, the server has checked it too.
  void settle(const std::string& uri, int version) {
    request("textDocument/waitForDiagnostics", {{"uri", uri}, {"version", version}});
  }

  void close_doc(const std::string& uri) {
    send({{"jsonrpc", "2.0"}, {"method", "textDocument/didClose"}, {"params", {{"textDocument", {{"uri", uri}}}}}});
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, next_id_ = 1;
  std::unique_ptr<testlsp::StdioTransport> io_;
};

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string document(std::size_t size, int decls) {
  std::string text = "import Bench.Base\n";
  for (int i = 0; i < decls; ++i)
    text += "theorem t" + std::to_string(i) + " : base + " + std::to_string(i) + " = " + std::to_string(2 + i) +
            " := by decide\n";
  std::string pad = "-- padding: the cache key hashes every byte of the document, and so does the lookup ⊢ ℕ\n";
  while (text.size() < size) text += pad;
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string proxy, sim_bin, only;
  bool quick = false;
  int reopens = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--proxy" && i + 1 < argc) proxy = argv[++i];
    else if (a == "--sim-bin" && i + 1 < argc) sim_bin = argv[++i];
    else if (a == "--reopens" && i + 1 < argc) reopens = std::atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: cache_bench --proxy PROXY --sim-bin DIR [--quick] [--reopens N] [--only 10KB|100KB|1MB]\n");
      return 2;
    }
  }
  if (proxy.empty() || sim_bin.empty()) {
    std::fprintf(stderr, "usage: cache_bench --proxy PROXY --sim-bin DIR [--quick] [--reopens N] [--only 10KB|100KB|1MB]\n");
    return 2;
  }
  if (reopens == 0) reopens = quick ? 10 : 60;
  sim_bin = fs::absolute(sim_bin).string();  // children run in the workspace
  proxy = fs::absolute(proxy).string();
  signal(SIGPIPE, SIG_IGN);
  // The simulator's realistic preset (startup 300 ms, 2 s per imported module,
  // 50 ms per declaration); the quick mode divides every cost by ten.
  int scale = quick ? 10 : 1;
  setenv("LEAN_SIM_STARTUP_MS", std::to_string(300 / scale).c_str(), 1);
  setenv("LEAN_SIM_IMPORT_MS", std::to_string(2000 / scale).c_str(), 1);
  setenv("LEAN_SIM_ELAB_MS", std::to_string(50 / scale).c_str(), 1);
  setenv("LEAN_LSP_PROXY_NO_DAEMON", "1", 1);
  std::string path = std::string(getenv("PATH") ? getenv("PATH") : "");
  setenv("PATH", (sim_bin + ":" + path).c_str(), 1);

  fs::path ws = fs::temp_directory_path() / ("llp-cache-bench-" + std::to_string(getpid()));
  fs::remove_all(ws);
  write_file(ws / "lakefile.toml", "name = \"bench\"\n");
  write_file(ws / "lean-toolchain", "leanprover/lean4:v4.28.0\n");
  write_file(ws / "Bench/Base.lean", "def base : Nat := 2\n");
  if (std::system(("cd " + ws.string() + " && lake build >/dev/null 2>&1").c_str()) != 0) {
    std::fprintf(stderr, "lake build failed in %s\n", ws.c_str());
    return 1;
  }

  json out = {{"quick", quick}, {"reopens", reopens}, {"sizes", json::object()}};
  std::printf("%-7s %9s %11s %11s %11s %11s %13s %13s %12s %14s %10s\n", "size", "cold ms", "fwd p50 ms",
              "fwd p99 ms", "lazy p50 ms", "lazy p99 ms", "storm fwd p50", "storm fwd p99", "miss key µs",
              "miss % of cold", "hits");
  const int decls = 20;
  for (std::size_t size : {std::size_t{10} << 10, std::size_t{100} << 10, std::size_t{1} << 20}) {
    std::string label = size >= (1u << 20) ? "1MB" : std::to_string(size >> 10) + "KB";
    if (!only.empty() && label != only) continue;
    std::string text = document(size, decls);
    std::string uri = "file://" + (ws / ("Doc" + label + ".lean")).string();
    std::string cache_dir = (ws / ("cache-" + label)).string();
    bool hit = false;

    // Cold: no cache at all, the whole check (time until the version is done).
    double cold_ms = 0;
    {
      Client c({proxy, "--cache", "off", "--", "lake", "serve"}, ws.string());
      c.open(uri, text, 1, hit, &cold_ms);
    }
    // A miss against an empty cache, then reopens served from it.
    // Hits in both --on-hit modes, each with a cache of its own: forward
    // (the default: the server still gets the served version and checks it,
    // so its work on it competes for the CPU with the next reopen) and lazy
    // (the served version is not forwarded until something needs it there).
    struct Hits {
      std::vector<double> ms, storm_ms;  ///< one at a time; back to back
      int count = 0;
      double miss_lookup_us = 0, hit_lookup_us = 0;
    };
    auto measure = [&](const std::string& mode) {
      Hits h;
      Client c({proxy, "--cache-dir", cache_dir + "-" + mode, "--on-hit", mode, "--", "lake", "serve"}, ws.string());
      double done = 0;
      c.open(uri, text, 1, hit, &done);
      json stats = c.request("workspace/executeCommand", {{"command", "leanProxy.cache.stats"}})["result"];
      h.miss_lookup_us = stats.value("lookup_p50_us", 0.0);
      int version = 2;
      for (bool storm : {false, true})
        for (int i = 0; i < reopens; ++i) {
          c.close_doc(uri);
          double ms = c.open(uri, text, version, hit);
          if (!storm) c.settle(uri, version);  // not timed
          ++version;
          if (hit) ++h.count;
          (storm ? h.storm_ms : h.ms).push_back(ms);
        }
      json after = c.request("workspace/executeCommand", {{"command", "leanProxy.cache.stats"}})["result"];
      h.hit_lookup_us = after.value("lookup_p50_us", 0.0);
      return h;
    };
    Hits fwd = measure("forward");
    Hits lazy = measure("lazy");
    double p50 = percentile(fwd.ms, 0.5), p99 = percentile(fwd.ms, 0.99);
    double lazy_p50 = percentile(lazy.ms, 0.5), lazy_p99 = percentile(lazy.ms, 0.99);
    double storm_p50 = percentile(fwd.storm_ms, 0.5), storm_p99 = percentile(fwd.storm_ms, 0.99);
    double miss_lookup_us = fwd.miss_lookup_us;
    double miss_pct = cold_ms > 0 ? 100.0 * (miss_lookup_us / 1000.0) / cold_ms : 0;
    std::printf("%-7s %9.1f %11.3f %11.3f %11.3f %11.3f %13.3f %13.3f %12.0f %13.3f%% %6d/%d\n", label.c_str(), cold_ms,
                p50, p99, lazy_p50, lazy_p99, storm_p50, storm_p99, miss_lookup_us, miss_pct, fwd.count + lazy.count,
                4 * reopens);
    out["sizes"][label] = {{"bytes", text.size()},
                           {"cold_ms", cold_ms},
                           {"hit_p50_ms", p50},
                           {"hit_p99_ms", p99},
                           {"lazy_hit_p50_ms", lazy_p50},
                           {"lazy_hit_p99_ms", lazy_p99},
                           {"storm_hit_p50_ms", storm_p50},
                           {"storm_hit_p99_ms", storm_p99},
                           {"storm_lazy_hit_p50_ms", percentile(lazy.storm_ms, 0.5)},
                           {"storm_lazy_hit_p99_ms", percentile(lazy.storm_ms, 0.99)},
                           {"hits", fwd.count + lazy.count},
                           {"miss_lookup_us", miss_lookup_us},
                           {"miss_percent_of_cold", miss_pct},
                           {"hit_lookup_p50_us", fwd.hit_lookup_us},
                           {"lazy_hit_lookup_p50_us", lazy.hit_lookup_us}};
    if (fwd.count != 2 * reopens || lazy.count != 2 * reopens) {
      std::fprintf(stderr, "only %d (forward) and %d (lazy) of %d reopens were cache hits\n", fwd.count, lazy.count,
                   2 * reopens);
      return 1;
    }
  }
  // hit_p50_ms is the default mode's (forward), reopened one at a time.
  out["targets"] = {{"hit_p50_ms_100KB_max", 0.5}, {"miss_percent_of_cold_max", 1.0}};
  std::printf("%s\n", out.dump().c_str());
  fs::remove_all(ws);
  return 0;
}
