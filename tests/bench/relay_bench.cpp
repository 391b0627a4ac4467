// relay_bench: round-trip latency and throughput of small and 100 KB LSP
// messages against echo_server, directly and through lean-lsp-proxy, in one
// run, so both paths see the same machine load.
//
//   relay_bench --server build/tests/bench/echo_server [--proxy build/src/lean-lsp-proxy]
//               [--bare build/tests/bench/bare_relay] [--quick] [--rounds N] [--json FILE]
//               [--proxy-arg ARG]... [--only small|100KB]
//
// --bare adds a third path through bare_relay, which copies bytes and does
// nothing else: the ceiling for any relay process on this machine, so the
// proxy's figures can be read against what the third process alone costs.
//
// The proxy runs in-process (LEAN_LSP_PROXY_NO_DAEMON=1 is set for it unless
// --daemon is given): through the daemon, a message takes two more hops.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/protocol/message.hpp"
#include "stdio_transport.hpp"

namespace json = leanproxy::json;
namespace proto = leanproxy::protocol;
using Clock = std::chrono::steady_clock;

namespace {

/// A server child process with the benchmark holding the other ends of its stdio.
class Peer {
 public:
  explicit Peer(const std::vector<std::string>& argv) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      for (int fd : {to[0], to[1], from[0], from[1]}) close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    out_ = to[1];
    in_ = from[0];
    io_ = std::make_unique<testlsp::StdioTransport>(in_, out_);
    call("initialize", R"({"processId":null,"rootUri":null,"capabilities":{}})");
    send(proto::make_notification("initialized", "{}"));
  }

  ~Peer() {
    if (pid_ > 0) finish();
  }

  /// Ends the session; returns the CPU seconds the peer used, including its
  /// own children (the server behind the proxy), so proxied − direct is the
  /// proxy's own cost.
  double finish() {
    try {
      call("shutdown", "null");
      send(proto::make_notification("exit", "{}"));
    } catch (const std::exception&) {  // already gone: still reap it
    }
    close(out_);
    close(in_);
    int status = 0;
    rusage ru{};
    wait4(pid_, &status, 0, &ru);
    pid_ = -1;
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
  }

  void send(const std::string& body) {
    if (!io_->write(body)) throw std::runtime_error("peer closed its stdin");
  }

  /// Reads until the reply to `id`, skipping notifications the proxy may send.
  void await_reply(std::int64_t id) {
    for (;;) {
      auto body = io_->read();
      if (!body) throw std::runtime_error("peer closed its stdout");
      auto got = json::member(*body, "id");
      if (got && json::to_int64(*got) == id && !json::member(*body, "method")) return;
    }
  }

  void call(const char* method, const std::string& params) {
    std::int64_t id = next_id_++;
    send(proto::make_request(std::to_string(id), method, params));
    await_reply(id);
  }

  /// CPU time the peer process itself (all its threads, not its children)
  /// has used so far, from /proc/PID/task/*/schedstat (nanoseconds).
  double own_cpu_us() const { return cpu_us(pid_); }

  /// The echo server: the peer itself, or the proxy's descendant of that name.
  pid_t server_pid(const std::string& exe) const {
    std::string comm = std::filesystem::path(exe).filename().string().substr(0, 15);  // as the kernel keeps it
    std::vector<pid_t> todo = {pid_};
    while (!todo.empty()) {
      pid_t p = todo.back();
      todo.pop_back();
      std::ifstream c("/proc/" + std::to_string(p) + "/comm");
      std::string name;
      if (std::getline(c, name) && name == comm) return p;
      std::error_code ec;
      for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(p) + "/task", ec)) {
        std::ifstream f(t.path() / "children");  // per thread: the one that spawned it
        for (pid_t child; f >> child;) todo.push_back(child);
      }
    }
    return pid_;
  }

  static double cpu_us(pid_t pid) {
    double ns = 0;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::ifstream f(t.path() / "schedstat");
      double run = 0;
      if (f >> run) ns += run;
    }
    return ns / 1e3;
  }

  /// User and kernel CPU time of `pid`, all threads, in clock ticks
  /// (/proc/PID/stat fields 14 and 15).
  static std::pair<double, double> user_sys_ticks(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(f, line);
    std::size_t close = line.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return {0, 0};
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    return {utime, stime};
  }

  /// read- and write-class system calls `pid` has made (/proc/PID/io).
  static double io_calls(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    double v = 0, n = 0;
    while (f >> key >> v)
      if (key == "syscr:" || key == "syscw:") n += v;
    return n;
  }

  pid_t pid() const { return pid_; }

  std::int64_t next_id_ = 1;

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::unique_ptr<testlsp::StdioTransport> io_;
};

struct Stats {
  double p50_us = 0, p99_us = 0, msgs_per_s = 0, mb_per_s = 0;
  double cpu_us_per_msg = 0;  ///< CPU time of the peer process tree per request
  /// CPU time of the peer itself (the echo server, or the proxy without its
  /// server) per request during the throughput phase.
  double own_cpu_us_per_msg = 0;
  /// The kernel's share of the peer's own CPU time while pipelined (ticks:
  /// coarse, but the phase runs long enough).
  double own_sys_share = 0;
  /// While pipelined, per request: the echo server's CPU time and the read /
  /// write calls of the peer and of the echo server (the proxy's batching
  /// shows in the server's figures).
  double server_cpu_us_per_msg = 0, own_calls_per_msg = 0, server_calls_per_msg = 0;
};

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

/// One request at a time: the time from writing a request to reading its reply.
void measure_latency(Peer& peer, const std::string& method, const std::string& params, int n, std::vector<double>& samples) {
  for (int i = 0; i < n / 10 + 1; ++i) peer.call(method.c_str(), params);  // warm caches and branch predictors
  for (int i = 0; i < n; ++i) {
    std::int64_t id = peer.next_id_++;
    std::string body = proto::make_request(std::to_string(id), method, params);
    auto t0 = Clock::now();
    peer.send(body);
    peer.await_reply(id);
    samples.push_back(micros(Clock::now() - t0));
  }
}

/// Pipelined: a writer thread sends n requests while this thread reads the replies.
void measure_throughput(Peer& peer, const std::string& server_exe, const std::string& method, const std::string& params, int n,
                        Stats& out) {
  std::int64_t first = peer.next_id_;
  peer.next_id_ += n;
  std::size_t bytes = 0;
  std::vector<std::string> bodies;
  for (int i = 0; i < n; ++i) {
    bodies.push_back(proto::make_request(std::to_string(first + i), method, params));
    bytes += bodies.back().size();
  }
  pid_t server = peer.server_pid(server_exe);
  double cpu0 = peer.own_cpu_us(), server_cpu0 = Peer::cpu_us(server);
  auto [user0, sys0] = Peer::user_sys_ticks(peer.pid());
  double calls0 = Peer::io_calls(peer.pid()), server_calls0 = Peer::io_calls(server);
  auto t0 = Clock::now();
  std::thread writer([&] { for (const auto& b : bodies) peer.send(b); });
  for (int i = 0; i < n; ++i) peer.await_reply(first + i);  // replies come back in order
  double secs = micros(Clock::now() - t0) / 1e6;
  writer.join();
  out.own_cpu_us_per_msg = (peer.own_cpu_us() - cpu0) / n;
  out.server_cpu_us_per_msg = (Peer::cpu_us(server) - server_cpu0) / n;
  auto [user1, sys1] = Peer::user_sys_ticks(peer.pid());
  if (user1 + sys1 > user0 + sys0) out.own_sys_share = (sys1 - sys0) / (user1 + sys1 - user0 - sys0);
  out.own_calls_per_msg = (Peer::io_calls(peer.pid()) - calls0) / n;
  out.server_calls_per_msg = (Peer::io_calls(server) - server_calls0) / n;
  out.msgs_per_s = n / secs;
  out.mb_per_s = static_cast<double>(bytes) / secs / 1e6;
}

struct Case {
  const char* name;
  std::string method, params;
  int latency_n, throughput_n;
};

std::string lean_text(std::size_t bytes) {
  std::string line = "theorem add_comm' (a b : ℕ) : a + b = b + a := by omega -- filler line\n";
  std::string text;
  while (text.size() < bytes) text += line;
  text.resize(bytes);
  return text;
}

void usage() {
  std::fprintf(stderr,
               "usage: relay_bench --server ECHO [--proxy PROXY] [--bare BARE_RELAY] [--quick] [--rounds N] [--json FILE] [--proxy-arg ARG]... "
               "[--only small|100KB] [--daemon]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  std::string server, proxy, bare, json_path, only;
  bool daemon = false;
  std::vector<std::string> proxy_args = {"--log-level", "error"};
  bool quick = false;
  int rounds = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : (usage(), std::string()); };
    if (a == "--server") server = value();
    else if (a == "--proxy") proxy = value();
    else if (a == "--bare") bare = value();
    else if (a == "--json") json_path = value();
    else if (a == "--rounds") rounds = std::atoi(value().c_str());
    else if (a == "--proxy-arg") proxy_args.push_back(value());
    else if (a == "--quick") quick = true;
    else if (a == "--only") only = value();
    else if (a == "--daemon") daemon = true;
    else usage();
  }
  if (server.empty()) usage();
  if (rounds <= 0) rounds = quick ? 1 : 3;

  // A typical hover request: ~150 B with the JSON-RPC envelope.
  std::string small = R"({"textDocument":{"uri":"file:///p/Mathlib/Group.lean"},"position":{"line":128,"character":17}})";
  std::string large = "{\"text\":" + json::quote(lean_text(100 * 1024)) + "}";
  std::vector<Case> cases = {
      {"small", "textDocument/hover", small, quick ? 2000 : 20000, quick ? 20000 : 200000},
      {"100KB", "test/echo", large, quick ? 200 : 2000, quick ? 300 : 3000},
  };
  if (!only.empty()) std::erase_if(cases, [&](const Case& c) { return c.name != only; });
  if (!daemon) setenv("LEAN_LSP_PROXY_NO_DAEMON", "1", 1);  // the figures are the in-process proxy's
  std::vector<std::pair<std::string, std::vector<std::string>>> paths = {{"direct", {server}}};
  if (!bare.empty()) paths.push_back({"bare", {bare, "--", server}});
  if (!proxy.empty()) {
    std::vector<std::string> argv_proxy = {proxy};
    argv_proxy.insert(argv_proxy.end(), proxy_args.begin(), proxy_args.end());
    argv_proxy.push_back("--");
    argv_proxy.push_back(server);
    paths.push_back({"proxied", argv_proxy});
  }

  for (const auto& c : cases)
    std::printf("%s: %s, %zu-byte request bodies\n", c.name, c.method.c_str(), proto::make_request("1000", c.method, c.params).size());
  // CPU µs/msg: the peer's process tree (for the proxy: with its server) over
  // the whole run; own: the peer alone (echo server, or proxy) while
  // pipelined; srv: the echo server alone while pipelined; calls: read and
  // write calls per request while pipelined, of the peer and of the server;
  // sys: the kernel's share of the peer's own CPU time while pipelined.
  std::printf("%-6s %-8s %9s %9s %11s %9s %11s %10s %6s %10s %9s %9s\n", "size", "path", "p50 µs", "p99 µs", "msgs/s", "MB/s",
              "CPU µs/msg", "own CPU µs", "sys", "srv CPU µs", "calls", "srv calls");
  std::string js = "{\"quick\":" + std::string(quick ? "true" : "false") + ",\"rounds\":" + std::to_string(rounds);
  for (const auto& c : cases) {
    std::vector<Stats> stats(paths.size());
    std::vector<std::vector<double>> samples(paths.size()), rates(paths.size()), mbs(paths.size()), cpu(paths.size()),
        own_cpu(paths.size()), server_cpu(paths.size()), own_calls(paths.size()), server_calls(paths.size()),
        own_sys(paths.size());
    // Rounds interleave the paths, so load from other users of the machine hits
    // both alike; a fresh peer per round keeps one slow start from skewing all.
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t p = 0; p < paths.size(); ++p) {
        Peer peer(paths[p].second);
        measure_latency(peer, c.method, c.params, c.latency_n, samples[p]);
        Stats t;
        measure_throughput(peer, server, c.method, c.params, c.throughput_n, t);
        rates[p].push_back(t.msgs_per_s);
        mbs[p].push_back(t.mb_per_s);
        own_cpu[p].push_back(t.own_cpu_us_per_msg);
        own_sys[p].push_back(t.own_sys_share);
        server_cpu[p].push_back(t.server_cpu_us_per_msg);
        own_calls[p].push_back(t.own_calls_per_msg);
        server_calls[p].push_back(t.server_calls_per_msg);
        double requests = c.latency_n * 1.1 + c.throughput_n + 3;  // incl. warm-up and handshake
        cpu[p].push_back(peer.finish() * 1e6 / requests);
      }
    }
    for (std::size_t p = 0; p < paths.size(); ++p) {
      Stats& s = stats[p];
      s.p50_us = percentile(samples[p], 0.50);
      s.p99_us = percentile(samples[p], 0.99);
      s.msgs_per_s = percentile(rates[p], 0.5);  // median round
      s.mb_per_s = percentile(mbs[p], 0.5);
      s.cpu_us_per_msg = percentile(cpu[p], 0.5);
      s.own_cpu_us_per_msg = percentile(own_cpu[p], 0.5);
      s.own_sys_share = percentile(own_sys[p], 0.5);
      s.server_cpu_us_per_msg = percentile(server_cpu[p], 0.5);
      s.own_calls_per_msg = percentile(own_calls[p], 0.5);
      s.server_calls_per_msg = percentile(server_calls[p], 0.5);
      std::printf("%-6s %-8s %9.1f %9.1f %11.0f %9.1f %11.1f %10.2f %5.0f%% %10.2f %9.3f %9.3f\n", c.name,
                  paths[p].first.c_str(), s.p50_us, s.p99_us, s.msgs_per_s, s.mb_per_s, s.cpu_us_per_msg,
                  s.own_cpu_us_per_msg, 100 * s.own_sys_share, s.server_cpu_us_per_msg, s.own_calls_per_msg, s.server_calls_per_msg);
    }
    char buf[512];
    js += std::string(",\"") + c.name + "\":{";
    for (std::size_t p = 0; p < paths.size(); ++p) {
      std::snprintf(buf, sizeof buf, "%s\"%s\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,\"cpu_us_per_msg\":%.1f,\"own_cpu_us_per_msg\":%.2f,"
                    "\"own_sys_share\":%.2f,\"server_cpu_us_per_msg\":%.2f,\"own_calls_per_msg\":%.3f,\"server_calls_per_msg\":%.3f}",
                    p ? "," : "", paths[p].first.c_str(), stats[p].p50_us, stats[p].p99_us, stats[p].msgs_per_s, stats[p].mb_per_s,
                    stats[p].cpu_us_per_msg, stats[p].own_cpu_us_per_msg, stats[p].own_sys_share, stats[p].server_cpu_us_per_msg,
                    stats[p].own_calls_per_msg, stats[p].server_calls_per_msg);
      js += buf;
    }
    auto index_of = [&](const char* name) {
      for (std::size_t p = 0; p < paths.size(); ++p)
        if (paths[p].first == name) return static_cast<int>(p);
      return -1;
    };
    int proxied = index_of("proxied"), bare_at = index_of("bare");
    if (proxied > 0) {
      const Stats &d = stats[0], &x = stats[proxied];
      std::snprintf(buf, sizeof buf, ",\"added_p50_us\":%.1f,\"added_p99_us\":%.1f,\"throughput_ratio\":%.3f",
                    x.p50_us - d.p50_us, x.p99_us - d.p99_us, x.msgs_per_s / d.msgs_per_s);
      js += buf;
      std::printf("%-6s added p50 %.1f µs, p99 %.1f µs; proxied throughput %.0f%% of direct\n", c.name,
                  x.p50_us - d.p50_us, x.p99_us - d.p99_us, 100 * x.msgs_per_s / d.msgs_per_s);
    }
    if (bare_at > 0) {
      const Stats &d = stats[0], &b = stats[bare_at];
      std::snprintf(buf, sizeof buf, ",\"bare_added_p50_us\":%.1f,\"bare_throughput_ratio\":%.3f", b.p50_us - d.p50_us,
                    b.msgs_per_s / d.msgs_per_s);
      js += buf;
      std::printf("%-6s bare relay (bytes only): added p50 %.1f µs; throughput %.0f%% of direct", c.name,
                  b.p50_us - d.p50_us, 100 * b.msgs_per_s / d.msgs_per_s);
      if (proxied > 0) std::printf("; the proxy reaches %.0f%% of it", 100 * stats[proxied].msgs_per_s / b.msgs_per_s);
      std::printf("\n");
    }
    js += "}";
  }
  js += ",\"targets\":{\"small_added_p50_us_max\":30,\"small_throughput_ratio_min\":0.8}}";
  std::printf("%s\n", js.c_str());
  if (!json_path.empty()) std::ofstream(json_path) << js << '\n';
  return 0;
}
