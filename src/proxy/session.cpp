// The stdio session shell: wires FramedStreams and the ServerProcess to the
// Router and owns the timers for restart backoff and shutdown escalation.
#include "leanproxy/proxy/session.hpp"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

#include "leanproxy/cache/interceptor.hpp"
#include "leanproxy/cache/store.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/io/server_process.hpp"
#include "leanproxy/proxy/commands.hpp"
#include "leanproxy/proxy/router.hpp"
#include "leanproxy/proxy/trace.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::proxy {
namespace {

using namespace std::chrono_literals;

constexpr auto kExitGrace = 2000ms;   // after `exit`, before SIGTERM
constexpr auto kTermGrace = 2000ms;   // after SIGTERM, before SIGKILL
constexpr auto kShutdownWait = 3000ms;  // client gone: shutdown + exit, before SIGTERM

int dup_cloexec(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }

class Session final : public RouterIo {
 public:
  explicit Session(const Options& o)
      : options_(o),
        spec_(make_spec(o)),
        interceptor_(make_cache()),
        commands_(interceptor_.get(), interceptor_.get(), backend_.get(), [this] { return proxy_stats(); }),
        router_(*this,
                Router::RestartPolicy{o.max_restarts,
                                      std::chrono::milliseconds(static_cast<long>(o.restart_window_s * 1000))},
                &commands_) {}

  int run() {
    if (!proc::become_subreaper()) log::warn("could not become a child subreaper; orphaned server processes may escape");
    if (options_.trace_dir) {
      std::string err;
      trace_ = TraceWriter::open(*options_.trace_dir, err);
      if (!trace_) log::warn(err);
      else log::info("tracing messages to " + trace_->path());
    }
    try {
      start_server();
    } catch (const std::exception& e) {
      log::error(e.what());
      return 1;
    }
    client_ = std::make_unique<io::FramedStream>(loop_, dup_cloexec(0), dup_cloexec(1), options_.max_message_size,
                                                 "client");
    client_->start({
        [this](std::string body) {
          if (trace_) trace_->write("client->proxy", body);
          router_.from_client(protocol::Message::parse(std::move(body)));
          if (router_.exit_received()) finish(router_.shutdown_received() ? 0 : 1);
        },
        [](const std::string& problem) { log::warn("client: " + problem); },
        [this](const std::string& why) { client_closed(why); },
    });
    if (!cache_notice_.empty()) send_to_client(protocol::make_log_message(2, cache_notice_));
    loop_.on_signals({SIGTERM, SIGINT, SIGHUP}, [this](int sig) {
      log::info("received signal " + std::to_string(sig) + "; shutting the server down");
      router_.client_closed();
      finish(0);
    });
    loop_.on_signals({SIGCHLD}, [this](int) { proc::reap_orphans(server_ ? server_->pid() : 0); });
    loop_.run();
    // Whatever the server left behind (workers in their own sessions) ends with us.
    int ended = proc::end_descendants(kTermGrace);
    if (ended > 0) log::info("ended " + std::to_string(ended) + " leftover server process(es)");
    return exit_code_;
  }

  void send_to_client(std::string body) override {
    if (trace_) trace_->write("proxy->client", body);
    if (client_) client_->send(std::move(body));
  }

  void send_to_server(std::string body) override {
    if (trace_) trace_->write("proxy->server", body);
    if (server_stream_) server_stream_->send(std::move(body));
    else log::debug("no server to send to; message dropped");
  }

 private:
  void start_server() {
    server_out_closed_ = server_exited_ = false;
    server_ = io::ServerProcess::spawn(
        loop_, spec_,
        {[](const std::string& line) { log::info("server: " + line); },
         [this](int, const std::string& desc) {
           server_exited_ = true;
           exit_description_ = desc;
           log::info("server pid " + std::to_string(server_->pid()) + " ended: " + desc);
           server_gone();
         }});
    server_stream_ = std::make_unique<io::FramedStream>(loop_, server_->take_stdout_fd(), server_->take_stdin_fd(),
                                                        options_.max_message_size, "server");
    server_stream_->start({
        [this](std::string body) {
          if (trace_) trace_->write("server->proxy", body);
          router_.from_server(protocol::Message::parse(std::move(body)));
        },
        [](const std::string& problem) { log::warn("server: " + problem); },
        [this](const std::string& why) {
          if (why != "eof") log::warn("server output: " + why);
          server_out_closed_ = true;
          server_gone();
          // A server that closed its output but lives on is stuck: end it.
          if (!server_exited_) stuck_timer_ = loop_.after(kTermGrace, [this] { server_->kill(); });
        },
    });
    router_.server_started();
  }

  // Called when the server's output closed or its process ended; acts once both happened.
  void server_gone() {
    if (!server_out_closed_ || !server_exited_) return;
    stuck_timer_.reset();
    if (server_stream_) server_stream_->close();
    if (finishing_) {
      done();
      return;
    }
    // Its descendants (Lean's workers) were ended by its reaper.
    if (!router_.server_exited(exit_description_)) {
      finish(1);
      return;
    }
    auto delay = Router::backoff(router_.recent_crashes());
    restart_timer_ = loop_.after(delay, [this] {
      try {
        start_server();
      } catch (const std::exception& e) {
        log::error(std::string("restart failed: ") + e.what());
        send_to_client(protocol::make_log_message(1, std::string("lean-lsp-proxy: ") + e.what(), true));
        finish(1);
      }
    });
  }

  void client_closed(const std::string& why) {
    if (finishing_) return;
    log::info(why == "eof" ? "client closed the connection" : "client connection failed: " + why);
    router_.client_closed();
    finish(router_.shutdown_received() ? 0 : 1, kShutdownWait);
  }

  // Ends the session: give the server `grace` to exit on its own, then
  // SIGTERM, then SIGKILL; flush what the client is owed; stop the loop.
  void finish(int code, std::chrono::milliseconds grace = kExitGrace) {
    if (finishing_) return;
    finishing_ = true;
    exit_code_ = code;
    restart_timer_.reset();
    if (!server_ || (server_exited_ && server_out_closed_)) {
      done();
      return;
    }
    term_timer_ = loop_.after(grace, [this] {
      log::info("server did not exit; sending SIGTERM");
      server_->terminate();
      kill_timer_ = loop_.after(kTermGrace, [this] {
        log::warn("server ignored SIGTERM; sending SIGKILL");
        server_->kill();
      });
    });
  }

  void done() {
    if (stopping_) return;
    stopping_ = true;
    term_timer_.reset();
    kill_timer_.reset();
    auto stop = [this] { loop_.stop(); };
    if (client_) client_->when_flushed(stop);
    else stop();
    flush_timer_ = loop_.after(1000ms, stop);  // a client that stopped reading cannot hold us
  }

  std::string proxy_stats() const {
    const auto& st = router_.stats();
    auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return "{\"sessions\":1,\"messages_from_client\":" + std::to_string(st.client_messages) +
           ",\"messages_from_server\":" + std::to_string(st.server_messages) +
           ",\"bytes_from_client\":" + std::to_string(st.client_bytes) +
           ",\"bytes_from_server\":" + std::to_string(st.server_bytes) +
           ",\"server_restarts\":" + std::to_string(st.server_restarts) +
           ",\"uptime_s\":" + std::to_string(static_cast<long long>(uptime)) + "}";
  }

  static io::ServerProcess::Spec make_spec(const Options& o) {
    io::ServerProcess::Spec spec;
    spec.cwd = o.root ? *o.root : std::filesystem::current_path().string();
    spec.argv = o.server_command.empty() ? default_server_command(spec.cwd) : o.server_command;
    return spec;
  }

  // The cache: a RocksDB store behind a worker-thread backend, and the
  // interceptor that applies it to this session. Null when --cache=off.
  std::unique_ptr<cache::CacheInterceptor> make_cache() {
    if (options_.cache == Options::CacheMode::off) return nullptr;
    // Only Lean servers answer waitForDiagnostics and have Lake's artifacts.
    auto exe = std::filesystem::path(spec_.argv.empty() ? "" : spec_.argv[0]).filename().string();
    if (exe != "lake" && exe != "lean") {
      log::info("cache: off (the server '" + exe + "' is not lake or lean)");
      return nullptr;
    }
    cache::StoreConfig cfg;
    cfg.dir = options_.cache_dir ? *options_.cache_dir : cache::default_cache_dir();
    cfg.ttl = std::chrono::seconds(options_.cache_ttl_s);
    cfg.max_bytes = options_.cache_max_size;
    cfg.read_only = options_.cache == Options::CacheMode::readonly;
    auto opened = cache::open_rocksdb_store(cfg);
    if (!opened.notice.empty()) {
      log::warn("cache: " + opened.notice);
      cache_notice_ = "lean-lsp-proxy: " + opened.notice;
    }
    log::info("cache: " + cfg.dir + (opened.store->mode() == cache::StoreMode::read_write ? " (read-write)"
                                     : opened.store->mode() == cache::StoreMode::read_only ? " (read-only)"
                                                                                           : " (unavailable)"));
    backend_ = std::make_unique<cache::Backend>(std::move(opened.store),
                                                [this](std::function<void()> fn) { loop_.post(std::move(fn)); });
    cache::ServerSpec spec{spec_.argv, spec_.cwd, {}};
    return std::make_unique<cache::CacheInterceptor>(*backend_, spec, cache::InterceptOptions{});
  }

  Options options_;
  io::EventLoop loop_;
  io::ServerProcess::Spec spec_;
  std::string cache_notice_;
  std::unique_ptr<cache::Backend> backend_;
  std::unique_ptr<cache::CacheInterceptor> interceptor_;
  CommandInterceptor commands_;
  Router router_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::unique_ptr<TraceWriter> trace_;
  std::unique_ptr<io::FramedStream> client_;
  std::unique_ptr<io::ServerProcess> server_;
  std::unique_ptr<io::FramedStream> server_stream_;
  std::unique_ptr<io::EventLoop::Timer> restart_timer_, term_timer_, kill_timer_, stuck_timer_, flush_timer_;
  bool server_out_closed_ = false, server_exited_ = false;
  std::string exit_description_;
  bool finishing_ = false, stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_stdio_session(const Options& options) {
  // A client or server that vanishes must surface as EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  Session s(options);
  return s.run();
}

}  // namespace leanproxy::proxy
