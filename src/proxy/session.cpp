// The session shell: wires FramedStreams and the ServerProcess to the Router
// and owns the timers for restart backoff and shutdown escalation.
#include "leanproxy/proxy/session.hpp"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/interceptor.hpp"
#include "leanproxy/cache/store.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/io/server_process.hpp"
#include "leanproxy/proxy/commands.hpp"
#include "leanproxy/proxy/router.hpp"
#include "leanproxy/proxy/trace.hpp"
#include "leanproxy/shims/shim.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::proxy {

using namespace std::chrono_literals;

namespace {
constexpr auto kExitGrace = 2000ms;     // after `exit`, before SIGTERM
constexpr auto kTermGrace = 2000ms;     // after SIGTERM, before SIGKILL
constexpr auto kShutdownWait = 3000ms;  // client gone: shutdown + exit, before SIGTERM
// Bytes waiting for a peer that does not read, before it counts as hung: far
// beyond any burst of edits, small enough to bound the proxy's memory.
constexpr std::size_t kQueueLimit = 32u << 20;

}  // namespace

bool is_lean_server(const std::vector<std::string>& argv) {
  auto exe = std::filesystem::path(argv.empty() ? "" : argv[0]).filename().string();
  return exe == "lake" || exe == "lean";
}

SessionConfig session_config(const Options& o) {
  SessionConfig c;
  c.options = o;
  c.cwd = o.root ? std::filesystem::absolute(*o.root).string() : std::filesystem::current_path().string();
  c.argv = o.server_command.empty() ? default_server_command(c.cwd) : o.server_command;
  // The workspace's own settings (.lean-lsp-proxy.json), under the command line.
  std::string problems = apply_settings_file(c.cwd, c.options);
  if (!problems.empty()) log::warn(problems);
  return c;
}

std::shared_ptr<cache::Store> open_cache(const Options& o, std::string& notice) {
  if (o.cache == Options::CacheMode::off) return nullptr;
  cache::StoreConfig cfg;
  cfg.dir = o.cache_dir ? *o.cache_dir : cache::default_cache_dir();
  cfg.ttl = std::chrono::seconds(o.cache_ttl_s);
  cfg.max_bytes = o.cache_max_size;
  cfg.read_only = o.cache == Options::CacheMode::readonly;
  auto opened = cache::open_rocksdb_store(cfg);
  if (!opened.notice.empty()) {
    log::warn("cache: " + opened.notice);
    notice = "lean-lsp-proxy: " + opened.notice;
  }
  auto mode = opened.store->mode();
  log::info("cache: " + cfg.dir + (mode == cache::StoreMode::read_write ? " (read-write)"
                                   : mode == cache::StoreMode::read_only ? " (read-only)"
                                                                         : " (unavailable)"));
  return std::shared_ptr<cache::Store>(std::move(opened.store));
}

struct Session::Impl final : RouterIo {
  Impl(io::EventLoop& loop, int in_fd, int out_fd, SessionConfig config, std::function<void(int)> on_done)
      : loop_(loop),
        config_(std::move(config)),
        on_done_(std::move(on_done)),
        interceptor_(make_cache()),
        commands_(interceptor_.get(), interceptor_.get(), backend_.get(), [this] { return proxy_stats(); },
                  config_.options.advertise_commands),
        router_(*this,
                Router::RestartPolicy{config_.options.max_restarts,
                                      std::chrono::milliseconds(static_cast<long>(config_.options.restart_window_s * 1000))},
                &commands_),
        client_(std::make_unique<io::FramedStream>(loop, in_fd, out_fd, config_.options.max_message_size, "client")) {
    spec_.argv = config_.argv;
    spec_.cwd = config_.cwd;
    // Explicit, and marked: a `lake` shim that resolves back to the proxy execs
    // the real tool instead of starting a proxy in front of the proxy.
    spec_.env = shims::server_environment(config_.env);
  }

  ~Impl() override {
    // Never leave a server behind, whatever path led here.
    if (server_ && server_->running()) server_->kill();
  }

  bool start(std::string& error) {
    if (config_.options.trace_dir) {
      std::string err;
      trace_ = TraceWriter::open(*config_.options.trace_dir, err);
      if (!trace_) log::warn(err);
      else log::info("tracing messages to " + trace_->path());
    }
    try {
      start_server();
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
    return true;
  }

  void attach_client() {
    client_->start({
        [this](std::string body) {
          if (trace_) trace_->write("client->proxy", body);
          router_.from_client(protocol::Message::parse(std::move(body)));
          if (router_.exit_received()) finish(router_.shutdown_received() ? 0 : 1);
        },
        [](const std::string& problem) { log::warn("client: " + problem); },
        [this](const std::string& why) { client_closed(why); },
        [this] {
          // An editor that stopped reading for this long is gone or hung.
          log::error("the client stopped reading its output; ending the session");
          client_closed("stalled");
        },
    });
    client_->set_queue_limit(kQueueLimit);
    if (!config_.cache_notice.empty()) send_to_client(protocol::make_log_message(2, config_.cache_notice));
  }

  void stop() {
    router_.client_closed();
    finish(0);
  }


  void send_to_client(std::string body) override {
    if (trace_) trace_->write("proxy->client", body);
    client_->send(std::move(body));
  }

  void send_to_server(std::string body) override {
    if (trace_) trace_->write("proxy->server", body);
    if (server_stream_) server_stream_->send(std::move(body));
    else log::debug("no server to send to; message dropped");
  }

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
                                                        config_.options.max_message_size, "server");
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
        [this] {
          // The server stopped reading its input: it is hung. Ending it takes
          // the crash path (error replies, restart, replay), and the queue
          // goes with the stream instead of growing without bound.
          log::error("the language server stopped reading its input; restarting it");
          server_->kill();
        },
    });
    server_stream_->set_queue_limit(kQueueLimit);
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
        // No server runs now: nothing to wait for, and no stale pid to signal.
        server_.reset();
        server_stream_.reset();
        server_exited_ = server_out_closed_ = true;
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
  // SIGTERM, then SIGKILL; flush what the client is owed; report done.
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
    auto report = [this] {
      if (reported_) return;
      reported_ = true;
      flush_timer_.reset();
      // Posted: on_done may destroy this session.
      loop_.post([cb = on_done_, code = exit_code_] { cb(code); });
    };
    client_->when_flushed(report);
    flush_timer_ = loop_.after(1000ms, report);  // a client that stopped reading cannot hold us
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

  // The cache: a backend (worker thread) over the shared store, and the
  // interceptor that applies it to this session. Null without a store or
  // when the server is not Lean (only Lean answers waitForDiagnostics).
  std::unique_ptr<cache::CacheInterceptor> make_cache() {
    if (!config_.store) return nullptr;
    if (!is_lean_server(config_.argv)) {
      log::info("cache: off for this session (the server is not lake or lean)");
      return nullptr;
    }
    backend_ = std::make_unique<cache::Backend>(config_.store,
                                                [this](std::function<void()> fn) { loop_.post(std::move(fn)); });
    cache::ServerSpec spec{config_.argv, config_.cwd, {}};
    cache::InterceptOptions opts;
    opts.read_only = config_.options.cache == Options::CacheMode::readonly;
    return std::make_unique<cache::CacheInterceptor>(*backend_, spec, opts);
  }

  io::EventLoop& loop_;
  SessionConfig config_;
  std::function<void(int)> on_done_;
  io::ServerProcess::Spec spec_;
  std::unique_ptr<cache::Backend> backend_;
  std::unique_ptr<cache::CacheInterceptor> interceptor_;
  CommandInterceptor commands_;
  Router router_;
  std::unique_ptr<io::FramedStream> client_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::unique_ptr<TraceWriter> trace_;
  std::unique_ptr<io::ServerProcess> server_;
  std::unique_ptr<io::FramedStream> server_stream_;
  std::unique_ptr<io::EventLoop::Timer> restart_timer_, term_timer_, kill_timer_, stuck_timer_, flush_timer_;
  bool server_out_closed_ = false, server_exited_ = false;
  std::string exit_description_;
  bool finishing_ = false, stopping_ = false, reported_ = false;
  int exit_code_ = 0;
};

Session::Session(io::EventLoop& loop, int in_fd, int out_fd, SessionConfig config, std::function<void(int)> on_done)
    : impl_(std::make_unique<Impl>(loop, in_fd, out_fd, std::move(config), std::move(on_done))) {}
Session::~Session() = default;
bool Session::start(std::string& error) {
  if (!impl_->start(error)) return false;
  impl_->attach_client();
  return true;
}
bool Session::start_server(std::string& error) { return impl_->start(error); }
void Session::attach_client() { impl_->attach_client(); }
void Session::stop() { impl_->stop(); }
std::string Session::stats_json() const {
  return "{\"proxy\":" + impl_->proxy_stats() +
         ",\"cache\":" + (impl_->interceptor_ ? impl_->interceptor_->stats().to_json() : std::string("null")) + "}";
}

void Session::set_cache_enabled(bool on) {
  if (impl_->interceptor_) impl_->interceptor_->set_enabled(on);
}

std::optional<std::string> Session::explain(const std::string& uri) const {
  if (!impl_->interceptor_) return std::nullopt;
  std::string now = impl_->interceptor_->explain(uri);
  if (now.find("\"open\":false") != std::string::npos) return std::nullopt;
  std::string last = impl_->config_.store ? impl_->config_.store->get_meta("last-key:" + uri).value_or("null") : "null";
  return cache::CacheInterceptor::explain_with_last(now, last);
}

int run_stdio_session(const Options& options) {
  // A client or server that vanishes must surface as EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  if (!proc::become_subreaper()) log::warn("could not become a child subreaper; orphaned server processes may escape");
  SessionConfig config = session_config(options);
  if (is_lean_server(config.argv)) config.store = open_cache(config.options, config.cache_notice);
  io::EventLoop loop;
  int exit_code = 1;
  int in = ::fcntl(0, F_DUPFD_CLOEXEC, 3), out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  Session session(loop, in, out, std::move(config), [&](int code) {
    exit_code = code;
    loop.stop();
  });
  std::string error;
  if (!session.start(error)) {
    log::error(error);
    return 1;
  }
  loop.on_signals({SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
    log::info("received signal " + std::to_string(sig) + "; shutting the server down");
    session.stop();
  });
  loop.on_signals({SIGCHLD}, [](int) { proc::reap_orphans(); });
  loop.run();
  // A safety net: nothing we started may outlive us.
  int ended = proc::end_descendants(kTermGrace);
  if (ended > 0) log::info("ended " + std::to_string(ended) + " leftover process(es)");
  return exit_code;
}

}  // namespace leanproxy::proxy
