// The check command: `$/leanProxy/check` per file, on the daemon's check
// service (warm documents shared with every other check) or, with
// --no-daemon or no daemon reachable, on a check service in this process.
#include "leanproxy/cli/check.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/daemon/client.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/pool/check_service.hpp"
#include "leanproxy/protocol/message.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::cli {
namespace fs = std::filesystem;
using nlohmann::json;

std::string format_diagnostic(const std::string& file, const std::string& text) {
  json d = json::parse(text, nullptr, false);
  if (!d.is_object()) return file + ": " + text;
  static const char* names[] = {"", "error", "warning", "info", "hint"};
  int sev = d.value("severity", 1);
  int line = d["range"]["start"].value("line", 0) + 1, col = d["range"]["start"].value("character", 0);
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + names[sev >= 1 && sev <= 4 ? sev : 1] +
         ": " + d.value("message", "");
}

namespace {

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Where checks go: the daemon over a socket, or an in-process service.
class Checker {
 public:
  using Done = std::function<void(pool::CheckReply)>;
  Checker(io::EventLoop& loop, const proxy::Options& o) : loop_(loop) {
    std::string error;
    int fd = o.no_daemon ? -1 : daemon::open_checks_connection(o, error);
    if (fd >= 0) {
      stream_ = std::make_unique<io::FramedStream>(loop, fd, fd, o.max_message_size, "daemon");
      stream_->start({[this](std::string body) { on_reply(std::move(body)); },
                      [](const std::string& problem) { log::warn("daemon: " + problem); },
                      [this](const std::string&) {
                        for (auto& [id, done] : pending_) done({true, 0, "the lean-lsp-proxy daemon went away"});
                        pending_.clear();
                      },
                      {},
                      {}});
      return;
    }
    if (!o.no_daemon) log::info("no lean-lsp-proxy daemon (" + error + "); checking in this process");
    // The check servers are ours: their orphaned workers come back to us.
    proc::become_subreaper();
    proxy::SessionConfig config = proxy::session_config(o);
    std::string notice;
    if (proxy::is_lean_server(config.argv)) config.store = proxy::open_cache(config.options, notice);
    target_ = proxy::check_target(config);
    service_ = std::make_unique<pool::CheckService>(loop, config.store);
  }
  ~Checker() {
    if (service_) service_->shutdown();
  }
  void check(const std::string& params, Done done) {
    if (service_) return service_->check(target_, params, std::move(done));
    std::int64_t id = next_id_++;
    pending_[id] = std::move(done);
    stream_->send(protocol::make_request(std::to_string(id), "$/leanProxy/check", params));
  }
  bool in_process() const { return service_ != nullptr; }

 private:
  void on_reply(std::string body) {
    auto m = protocol::Message::parse(std::move(body));
    if (m.kind() != protocol::Kind::response || !m.id()) return;
    auto id = json::parse(m.id()->raw(), nullptr, false);
    auto it = id.is_number_integer() ? pending_.find(id.get<std::int64_t>()) : pending_.end();
    if (it == pending_.end()) return;
    auto done = std::move(it->second);
    pending_.erase(it);
    if (m.is_error()) {
      auto e = json::parse(m.error(), nullptr, false);
      done({true, e.value("code", 0), e.value("message", std::string("error"))});
    } else {
      done({false, 0, std::string(m.result())});
    }
  }

  io::EventLoop& loop_;
  std::unique_ptr<io::FramedStream> stream_;
  std::map<std::int64_t, Done> pending_;
  std::int64_t next_id_ = 1;
  std::unique_ptr<pool::CheckService> service_;
  pool::CheckTarget target_;
};

struct Item {
  std::string name, text, problem;
  std::optional<pool::CheckReply> reply;
};

}  // namespace

int run_check(const proxy::Options& o, const std::vector<std::string>& files) {
  if (files.empty()) {
    std::cerr << "lean-lsp-proxy check: no files given (use - for standard input)\n";
    return 2;
  }
  std::vector<Item> items;
  for (const auto& f : files) {
    Item it{f, {}, {}, {}};
    if (f == "-") {
      it.name = "<stdin>";
      it.text = read_all(std::cin);
    } else if (std::ifstream in(f, std::ios::binary); in) {
      it.text = read_all(in);
    } else {
      it.problem = "cannot read " + f;
    }
    items.push_back(std::move(it));
  }
  // The output is the diagnostics: the log only says what went wrong,
  // unless asked for more.
  if (!o.given.count("--log-level")) log::set_level(std::max(log::level(), log::Level::warn));
  std::signal(SIGPIPE, SIG_IGN);
  io::EventLoop loop;
  std::unique_ptr<Checker> checker;
  try {
    checker = std::make_unique<Checker>(loop, o);
  } catch (const std::exception& e) {
    std::cerr << "lean-lsp-proxy check: " << e.what() << "\n";
    return 1;
  }
  bool tty = ::isatty(2) && items.size() > 1;
  std::size_t next = 0, printed = 0, in_flight = 0, finished = 0;
  // Enough in flight to keep every warm document busy, no more: a queue in
  // the service would only hide the progress.
  std::size_t window = static_cast<std::size_t>(std::max(1, o.check_docs));
  int failed = 0;
  json results = json::array();
  auto progress = [&] {
    if (!tty) return;
    constexpr int width = 30;
    int fill = static_cast<int>(width * finished / items.size());
    std::fprintf(stderr, "\r[%s%s] %zu/%zu\033[K", std::string(fill, '#').c_str(),
                 std::string(width - fill, '.').c_str(), finished, items.size());
  };
  // Results are printed in the order the files were given.
  auto print_ready = [&] {
    while (printed < items.size() && (items[printed].reply || !items[printed].problem.empty())) {
      Item& it = items[printed++];
      if (tty) std::fprintf(stderr, "\r\033[K");
      if (!it.problem.empty()) {
        ++failed;
        std::cerr << it.name << ": " << it.problem << "\n";
        if (o.json) results.push_back({{"file", it.name}, {"ok", false}, {"reasons", {it.problem}}});
        continue;
      }
      const auto& r = *it.reply;
      json res = r.error ? json() : json::parse(r.body, nullptr, false);
      if (r.error || !res.is_object()) {
        ++failed;
        std::string why = r.error ? r.body : "a malformed reply";
        std::cerr << it.name << ": the check failed: " << why << "\n";
        if (o.json) results.push_back({{"file", it.name}, {"ok", false}, {"reasons", {"the check failed: " + why}}});
        continue;
      }
      bool ok = res.value("ok", false);
      if (!ok) ++failed;
      if (o.json) {
        res["file"] = it.name;
        results.push_back(res);
        continue;
      }
      for (const auto& d : res.value("diagnostics", json::array()))
        if (!d.value("isSilent", false)) std::cout << format_diagnostic(it.name, d.dump()) << "\n";
      char line[512];
      std::snprintf(line, sizeof line, "%s: %s in %.1f ms%s", it.name.c_str(), ok ? "ok" : "NOT ok",
                    res.value("elapsedMs", 0.0), res.value("cached", false) ? " (from the cache)" : "");
      std::cerr << line;
      for (const auto& reason : res.value("reasons", json::array())) std::cerr << "; " << reason.get<std::string>();
      std::cerr << "\n";
    }
    std::cout.flush();
    progress();
  };
  std::function<void()> pump = [&] {
    while (next < items.size() && in_flight < window) {
      Item& it = items[next++];
      if (!it.problem.empty()) {
        ++finished;
        continue;
      }
      ++in_flight;
      json params = {{"text", it.text}};
      checker->check(params.dump(-1, ' ', false, json::error_handler_t::replace), [&, &it = it](pool::CheckReply r) {
        it.reply = std::move(r);
        --in_flight;
        ++finished;
        print_ready();
        pump();
      });
    }
    print_ready();
    if (finished == items.size()) loop.stop();
  };
  loop.post(pump);
  loop.on_signals({SIGINT, SIGTERM}, [&](int) {
    std::cerr << "\nlean-lsp-proxy check: interrupted\n";
    failed = std::max(failed, 1);
    loop.stop();
  });
  if (checker->in_process()) loop.on_signals({SIGCHLD}, [](int) { proc::reap_orphans(); });
  loop.run();
  bool own_servers = checker->in_process();
  checker.reset();
  if (own_servers) proc::end_descendants(std::chrono::milliseconds(2000));
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (o.json) std::cout << results.dump(2) << "\n";
  return failed || printed < items.size() ? 1 : 0;
}

}  // namespace leanproxy::cli
