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
#include "leanproxy/lean/header.hpp"
#include "leanproxy/pool/check_service.hpp"
#include "leanproxy/pool/environment.hpp"
#include "leanproxy/pool/server_pool.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/proxy/commands.hpp"
#include "leanproxy/proxy/router.hpp"
#include "leanproxy/proxy/trace.hpp"
#include "leanproxy/shims/shim.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"
#include "leanproxy/util/uri.hpp"

namespace leanproxy::proxy {

using namespace std::chrono_literals;

namespace {
constexpr auto kExitGrace = 2000ms;     // after `exit`, before SIGTERM
constexpr auto kTermGrace = 2000ms;     // after SIGTERM, before SIGKILL
constexpr auto kShutdownWait = 3000ms;  // client gone: shutdown + exit, before SIGTERM
// Bytes waiting for a peer that does not read, before it counts as hung: far
// beyond any burst of edits, small enough to bound the proxy's memory. Flow
// control keeps forwarded traffic near kBacklogMarks; this catches what the
// proxy makes itself (replays, cache answers).
constexpr std::size_t kQueueLimit = 32u << 20;
// Flow control: above a high mark for one peer, the other side's input is
// left in its pipe until that queue is back to the low marks. In bytes, to
// bound memory; in messages, so a pipelining client keeps ~2,000 small
// requests in flight, not ~26,000, and the pending table stays in cache
// (relay_bench, alternating runs: proxy CPU 3.0-3.4 us per pipelined round
// trip against 3.5-3.7 with the byte marks alone). Not lower in bytes: a forwarded
// cache hit's didOpen waits behind this queue when the server reads slowly.
constexpr io::FramedStream::BacklogMarks kBacklogMarks{4u << 20, 1u << 20, 2048, 512};
// A server that has taken no byte of its input for this long while messages
// wait is hung: elaboration runs in Lean's file workers, and the watchdog
// goes back to reading as soon as it has handed a message on.
constexpr auto kServerStall = 10000ms;

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

pool::CheckTarget check_target(const SessionConfig& c) {
  pool::CheckTarget t;
  t.argv = c.argv;
  t.cwd = c.cwd;
  t.env = c.env;
  t.max_message = c.options.max_message_size;
  t.docs = c.options.check_docs;
  t.timeout_ms = c.options.check_timeout_ms;
  t.warm_headers = c.options.warm_headers;
  t.read_only = c.options.cache == Options::CacheMode::readonly;
  t.use_cache = c.store != nullptr;
  t.sandbox = c.options.sandbox;
  return t;
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
    if (is_lean_server(config_.argv))
      commands_.set_check_handler([this](std::string params, auto done) { check(std::move(params), std::move(done)); });
    if (is_lean_server(config_.argv))
      commands_.set_environment_handler([this](std::string op, std::string root, auto progress, auto done) {
        environment(std::move(op), std::move(root), std::move(progress), std::move(done));
      });
  }

  // leanProxy.environment.*: on the daemon's environment manager, or on one
  // of this session's own (in-process mode).
  void environment(std::string op, std::string root,
                   std::function<void(std::string, std::optional<int>)> progress,
                   std::function<void(bool, int, std::string)> done) {
    pool::Environment* env = config_.environment;
    if (!env) {
      if (!own_environment_) own_environment_ = std::make_unique<pool::Environment>(loop_);
      env = own_environment_.get();
    }
    if (root.empty()) root = config_.cwd;
    if (op == "stats") {
      done(false, 0, env->status_json(root));
      return;
    }
    pool::EnvironmentSpec spec{root, config_.env, "lake"};
    // The session's own Lake when its server is `…/lake serve`.
    if (std::filesystem::path(config_.argv[0]).filename() == "lake") spec.lake = config_.argv[0];
    env->optimize(
        spec, [progress = std::move(progress)](const std::string& m, std::optional<int> p) { progress(m, p); },
        [done = std::move(done)](const std::string& result) { done(false, 0, result); });
  }

  // $/leanProxy/check: on the daemon's shared check service, or on one of
  // this session's own (in-process mode), started on the first check.
  void check(std::string params, std::function<void(bool, int, std::string)> done) {
    pool::CheckService* service = config_.checks;
    if (!service) {
      if (!own_checks_) own_checks_ = std::make_unique<pool::CheckService>(loop_, config_.store);
      service = own_checks_.get();
    }
    service->check(check_target(config_), params, [done = std::move(done)](pool::CheckReply r) {
      done(r.error, r.code, std::move(r.body));
    });
  }

  ~Impl() override {
    // Never leave a server behind, whatever path led here.
    if (server_ && server_->running()) server_->kill();
    if (own_checks_) own_checks_->shutdown();
  }

  bool start(std::string& error) {
    if (config_.options.trace_dir) {
      std::string err;
      trace_ = TraceWriter::open(*config_.options.trace_dir, err);
      if (!trace_) log::warn(err);
      else log::info("tracing messages to " + trace_->path());
    }
    if (config_.pool && is_lean_server(config_.argv)) {
      if (config_.pool->may_serve(config_.argv, config_.cwd, config_.env)) {
        // A spare may fit: which one depends on the client's initialize.
        awaiting_initialize_ = true;
        return true;
      }
      config_.pool->note_cold_start();
    }
    try {
      start_server();
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
    return true;
  }

  pool::SpareSpec spare_spec(std::string_view initialize_params) const {
    return {config_.argv, config_.cwd, config_.env, std::string(initialize_params), config_.options.max_message_size};
  }

  // A client message, before the router: the pool's part (which server, what
  // the workspace opens), then routing.
  void from_client(std::string body) {
    if (taking_) {
      held_.push_back(std::move(body));  // until the server is decided
      return;
    }
    protocol::Message m = protocol::Message::parse(std::move(body));
    if (config_.pool && m.kind() == protocol::Kind::request && m.method() == "initialize") {
      std::string params = m.has_params() ? std::string(m.params()) : "{}";
      if (awaiting_initialize_) {
        awaiting_initialize_ = false;
        taking_ = true;
        held_.push_back(std::move(m).take_raw());
        config_.pool->take(spare_spec(params), [this, alive = std::weak_ptr<bool>(alive_)](
                                                   std::unique_ptr<pool::Adopted> a) {
          if (alive.expired()) return;  // the session ended meanwhile (the server goes with `a`)
          taking_ = false;
          if (!take_server(std::move(a))) return;
          auto held = std::move(held_);
          held_.clear();
          for (auto& b : held) from_client(std::move(b));
        });
        return;
      }
      config_.pool->learn(spare_spec(params));
    }
    std::string opened;
    if (config_.pool && m.method() == "textDocument/didOpen")
      if (auto raw = json::path(m.params(), {"textDocument", "uri"})) opened = json::decode_string(*raw).value_or("");
    router_.from_client(std::move(m));
    if (!opened.empty()) note_header(opened);
    if (router_.exit_received()) finish(router_.shutdown_received() ? 0 : 1);
  }

  // The pool learns which headers this workspace opens (its spares pre-load the hottest).
  void note_header(const std::string& uri) {
    const document::Document* d = router_.documents().find(uri);
    if (!d) return;
    auto h = lean::parse_header(d->text);
    if (!h.imports.empty()) config_.pool->note_header(config_.cwd, d->text.substr(0, h.end));
  }

  // The server for a deferred session: the pool's spare, or one of its own.
  bool take_server(std::unique_ptr<pool::Adopted> a) {
    if (a) {
      server_out_closed_ = server_exited_ = false;
      server_ = std::move(a->process);
      server_->set_callbacks(server_callbacks());
      server_stream_ = std::move(a->stream);
      server_stream_->set_handlers(server_handlers());
      limit_server_stream();
      hidden_uri_ = std::move(a->hidden_uri);
      router_.adopt(std::move(a->initialize_result), std::move(a->registrations));
      log::info("session: took a warm server (pid " + std::to_string(server_->pid()) + ")");
      router_.server_started();
      return true;
    }
    try {
      start_server();
      return true;
    } catch (const std::exception& e) {
      log::error(e.what());
      send_to_client(protocol::make_log_message(1, std::string("lean-lsp-proxy: ") + e.what(), true));
      for (auto& b : held_) {
        auto m = protocol::Message::parse(std::move(b));
        if (m.kind() == protocol::Kind::request)
          send_to_client(protocol::make_error(m.id()->raw(), protocol::error_code::internal_error, e.what()));
      }
      held_.clear();
      server_exited_ = server_out_closed_ = true;
      finish(1);
      return false;
    }
  }

  void attach_client() {
    client_->start({
        [this](std::string body) {
          if (trace_) trace_->write("client->proxy", body);
          from_client(std::move(body));
        },
        [](const std::string& problem) { log::warn("client: " + problem); },
        [this](const std::string& why) { client_closed(why); },
        [this] {
          // An editor that stopped reading for this long is gone or hung.
          log::error("the client stopped reading its output; ending the session");
          client_closed("stalled");
        },
        [this](bool) { update_flow(); },
    });
    client_->set_queue_limit(kQueueLimit);
    client_->set_backlog_marks(kBacklogMarks);
    update_flow();
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

  void flush_client() override { client_->flush(); }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    soon_timer_ = loop_.after(delay, std::move(fn));
  }

  void send_to_server(std::string body) override {
    if (trace_) trace_->write("proxy->server", body);
    if (server_stream_) server_stream_->send(std::move(body));
    else log::debug("no server to send to; message dropped");
  }

  void start_server() {
    server_out_closed_ = server_exited_ = false;
    server_ = io::ServerProcess::spawn(loop_, spec_, server_callbacks());
    server_stream_ = std::make_unique<io::FramedStream>(loop_, server_->take_stdout_fd(), server_->take_stdin_fd(),
                                                        config_.options.max_message_size, "server");
    server_stream_->start(server_handlers());
    limit_server_stream();
    router_.server_started();
  }

  void limit_server_stream() {
    server_stream_->set_queue_limit(kQueueLimit);
    server_stream_->set_backlog_marks(kBacklogMarks);
    server_stream_->set_stall_timeout(kServerStall);
    update_flow();
  }

  // Flow control: while one peer's queue is backlogged, what the other sends
  // waits in its pipe, not in our memory. A side is never paused for its own
  // backlog: a peer blocked writing to us would then never read (deadlock).
  // Called whenever a backlog changes or the server stream is replaced.
  void update_flow() {
    bool server_behind = server_stream_ && server_stream_->backlogged();
    if (server_behind) client_->pause_reading();
    else client_->resume_reading();
    if (!server_stream_) return;
    if (client_->backlogged()) server_stream_->pause_reading();
    else server_stream_->resume_reading();
  }

  io::ServerProcess::Callbacks server_callbacks() {
    return {[](const std::string& line) { log::info("server: " + line); },
            [this](int, const std::string& desc) {
              server_exited_ = true;
              exit_description_ = desc;
              log::info("server pid " + std::to_string(server_->pid()) + " ended: " + desc);
              server_gone();
            }};
  }

  io::FramedStream::Handlers server_handlers() {
    return {
        [this](std::string body) {
          if (trace_) trace_->write("server->proxy", body);
          // A pooled server's warm-up document is not the client's: hide
          // what the server still says about it.
          if (!hidden_uri_.empty() && body.find(hidden_uri_) != std::string::npos && hidden(body)) return;
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
        [this](bool) { update_flow(); },
    };
  }

  bool hidden(const std::string& body) const {
    auto m = protocol::Message::parse(body);
    if (m.kind() != protocol::Kind::notification) return false;
    auto uri = m.method() == "textDocument/publishDiagnostics" ? json::path(m.params(), {"uri"})
               : m.method() == "$/lean/fileProgress"          ? json::path(m.params(), {"textDocument", "uri"})
                                                               : std::nullopt;
    return uri && json::decode_string(*uri) == hidden_uri_;
  }

  // Called when the server's output closed or its process ended; acts once both happened.
  void server_gone() {
    if (!server_out_closed_ || !server_exited_) return;
    stuck_timer_.reset();
    if (server_stream_) server_stream_->close();
    update_flow();  // the closed stream's queue is gone: the client reads on
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
        update_flow();
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
    if (config_.announce_end && !router_.exit_received())
      send_to_client(protocol::make_notification(session_ending_method, "{\"exitCode\":" + std::to_string(code) + "}"));
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
    if (config_.options.on_hit == Options::OnHit::lazy) opts.on_hit = cache::OnHit::lazy;
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
  std::unique_ptr<pool::CheckService> own_checks_;  ///< in-process mode: this session's check servers
  std::unique_ptr<pool::Environment> own_environment_;  ///< in-process mode: this session's environment runs
  bool awaiting_initialize_ = false;  ///< the server is chosen when the client's initialize arrives
  bool taking_ = false;               ///< asked the pool; client messages wait in held_
  std::vector<std::string> held_;
  std::string hidden_uri_;            ///< a taken spare's warm-up document
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<io::ServerProcess> server_;
  std::unique_ptr<io::FramedStream> server_stream_;
  std::unique_ptr<io::EventLoop::Timer> restart_timer_, term_timer_, kill_timer_, stuck_timer_, flush_timer_;
  std::unique_ptr<io::EventLoop::Timer> soon_timer_;  ///< RouterIo::after
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

std::optional<Session::LiveExplain> Session::explain_live(const std::string& asked) const {
  if (!impl_->interceptor_) return std::nullopt;
  // Editors encode URIs differently (VS Code escapes non-ASCII, the CLI does
  // not): an open document whose path is the asked one is the one meant.
  std::string uri = asked;
  if (!impl_->router_.documents().find(uri)) {
    std::string path = util::uri_path(asked);
    for (const auto* d : impl_->router_.documents().in_open_order())
      if (!path.empty() && util::uri_path(d->uri) == path) uri = d->uri;
  }
  std::string now = impl_->interceptor_->explain(uri);
  if (now.find("\"open\":false") != std::string::npos) return std::nullopt;
  return LiveExplain{std::move(uri), std::move(now)};
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
