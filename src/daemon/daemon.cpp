// Daemon: listener with peer-uid check, hello handling, sessions sharing one
// cache store, control commands, idle exit.
#include "leanproxy/daemon/daemon.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "leanproxy/cache/interceptor.hpp"
#include "leanproxy/cache/store.hpp"
#include "leanproxy/daemon/check_endpoint.hpp"
#include "leanproxy/daemon/paths.hpp"
#include "leanproxy/daemon/wire.hpp"
#include "leanproxy/framing/frame_parser.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/pool/check_service.hpp"
#include "leanproxy/pool/environment.hpp"
#include "leanproxy/pool/server_pool.hpp"
#include "leanproxy/protocol/message.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/fd_io.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::daemon {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPoolHeaders = "pool-headers";  ///< store metadata: the pool's learnt headers

/// A connection whose hello has not arrived yet.
struct Pending {
  int fd = -1;
  framing::FrameParser parser{1 << 20};
  std::unique_ptr<io::EventLoop::Watch> watch;
  std::unique_ptr<io::EventLoop::Timer> timeout;
};

class Daemon {
 public:
  Daemon(const DaemonOptions& o, int listen_fd, Paths p)
      : options_(o),
        listen_fd_(listen_fd),
        paths_(std::move(p)),
        pool_(loop_, pool::PoolLimits{o.cache.pool_spares, o.cache.pool_max_servers, o.cache.pool_max_memory / 1024,
                                      std::chrono::seconds(o.cache.pool_idle_s)}),
        environment_(loop_) {
    // After a build no spare may hold the old imports (check documents
    // restart themselves when their import fingerprint changes).
    environment_.set_on_done([this](const std::string& root, bool) {
      pool_.refresh(root);
      if (idle() && !stopping_) arm_idle();
    });
    struct stat st {};
    if (::lstat(paths_.socket.c_str(), &st) == 0) socket_ino_ = st.st_ino;
  }

  int run() {
    std::string notice;
    store_ = proxy::open_cache(options_.cache, notice);
    if (!notice.empty()) store_notice_ = notice;
    retry_store_if_locked();
    // The headers the pool learnt in earlier runs (once, before serving).
    if (store_)
      if (auto h = store_->get_meta(kPoolHeaders)) pool_.load_headers(*h);
    listen_watch_ = loop_.watch_readable(listen_fd_, [this] { accept_all(); });
    loop_.on_signals({SIGTERM, SIGINT, SIGHUP}, [this](int sig) {
      log::info("daemon: signal " + std::to_string(sig) + "; stopping");
      stop();
    });
    loop_.on_signals({SIGCHLD}, [](int) { proc::reap_orphans(); });
    arm_idle();
    log::info("daemon: listening on " + paths_.socket + " (pid " + std::to_string(::getpid()) + ")");
    loop_.run();
    for (auto& [_, t] : admin_) t.join();
    admin_.clear();
    ::close(listen_fd_);
    unlink_socket();
    if (store_ && store_->mode() == cache::StoreMode::read_write) store_->put_meta(kPoolHeaders, pool_.headers_json());
    log::info("daemon: stopped");
    return 0;
  }

 private:
  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: drained
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
        log::warn("daemon: refused a connection from uid " + std::to_string(cred.uid));
        reply_and_close(fd, false, "this lean-lsp-proxy daemon belongs to uid " + std::to_string(::getuid()) +
                                       "; connections from uid " + std::to_string(cred.uid) + " are refused");
        continue;
      }
      auto p = std::make_shared<Pending>();
      p->fd = fd;
      std::weak_ptr<Pending> weak = p;
      p->watch = loop_.watch_readable(fd, [this, weak] {
        if (auto p = weak.lock()) read_hello(p);
      });
      p->timeout = loop_.after(5s, [this, weak] {
        if (auto p = weak.lock()) {
          log::warn("daemon: a client connected but sent no hello within 5 s");
          drop(p, true);
        }
      });
      pending_[fd] = p;
    }
  }

  void drop(const std::shared_ptr<Pending>& p, bool close_fd) {
    p->watch.reset();
    p->timeout.reset();
    if (close_fd) ::close(p->fd);
    pending_.erase(p->fd);
  }

  void reply_and_close(int fd, bool ok, const std::string& message) {
    json r = {{"ok", ok}};
    if (!ok) r["error"] = message;
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);  // a short reply; let it block briefly
    write_frame(fd, r.dump());
    ::close(fd);
  }

  void read_hello(const std::shared_ptr<Pending>& p) {
    char buf[4096];
    ssize_t n = ::read(p->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      drop(p, true);
      return;
    }
    p->parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    auto r = p->parser.next();
    if (r.status == framing::FrameParser::Status::need_more) return;
    int fd = p->fd;
    drop(p, false);
    if (r.status == framing::FrameParser::Status::error) {
      reply_and_close(fd, false, "bad hello frame: " + r.error);
      return;
    }
    std::string error;
    auto hello = decode_hello(r.body, error);
    if (!hello) {
      reply_and_close(fd, false, error);
      return;
    }
    if (hello->kind == "control") control(fd, *hello);
    else if (hello->kind == "checks") start_checks(fd, *hello);
    else start_session(fd, *hello);
  }

  proxy::SessionConfig session_config(const Hello& h) {
    proxy::SessionConfig config;
    config.options = h.options;
    config.argv = h.argv;
    config.cwd = h.cwd;
    config.env = h.env;
    if (h.options.cache != proxy::Options::CacheMode::off && proxy::is_lean_server(h.argv)) {
      config.store = store_;
      config.cache_notice = store_notice_;
    }
    config.checks = &checks();
    config.environment = &environment_;
    config.announce_end = true;  // the relay must tell a deliberate end from a dead daemon
    if (options_.cache.pool_spares > 0 && proxy::is_lean_server(h.argv)) {
      config.pool = &pool_;
      pool_.pin_headers(h.cwd, h.options.warm_headers);
    }
    return config;
  }

  // The check service, shared by every session: warm check documents outlive
  // the connections that used them.
  pool::CheckService& checks() {
    if (!checks_) {
      checks_ = std::make_unique<pool::CheckService>(loop_, store_);
      checks_->set_cache_enabled(cache_enabled_);
    }
    return *checks_;
  }

  // Writes the hello reply with the socket briefly blocking (a short reply;
  // the connection stays non-blocking for what follows).
  static bool write_reply(int fd, const std::string& body) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    bool sent = write_frame(fd, body);
    ::fcntl(fd, F_SETFL, flags);
    return sent;
  }

  // A `checks` connection (the CLI's check): no server of its own.
  void start_checks(int fd, const Hello& h) {
    if (!write_reply(fd, json{{"ok", true}, {"daemon_pid", ::getpid()}}.dump())) {
      ::close(fd);
      return;
    }
    idle_timer_.reset();
    std::uint64_t id = next_session_++;
    auto target = proxy::check_target(session_config(h));
    auto endpoint = std::make_unique<CheckEndpoint>(loop_, fd, checks(), std::move(target), [this, id] {
      check_endpoints_.erase(id);
      if (idle()) {
        if (stopping_) loop_.stop();
        else arm_idle();
      }
    });
    endpoint->start();
    check_endpoints_[id] = std::move(endpoint);
    log::info("daemon: check connection " + std::to_string(id) + " for " + h.cwd);
  }

  bool idle() const { return sessions_.empty() && check_endpoints_.empty() && !environment_.busy(); }

  void start_session(int fd, const Hello& h) {
    proxy::SessionConfig config = session_config(h);
    std::uint64_t id = next_session_++;
    auto session = std::make_unique<proxy::Session>(loop_, fd, fd, std::move(config), [this, id](int code) {
      log::info("daemon: session " + std::to_string(id) + " ended (" + std::to_string(code) + ")");
      add_session(ended_totals_, sessions_.at(id)->stats_json());
      sessions_.erase(id);
      pool_.set_active_servers(static_cast<int>(sessions_.size()));
      if (idle()) {
        if (stopping_) loop_.stop();
        else arm_idle();
      }
    });
    if (!cache_enabled_) session->set_cache_enabled(false);
    // The server first: a failure still goes into the reply, and the client
    // reports it as in-process mode would (and does not retry in-process).
    std::string error;
    if (!session->start_server(error)) {
      log::error("daemon: session " + std::to_string(id) + ": " + error);
      json no = {{"ok", false}, {"fatal", true}, {"error", error}, {"daemon_pid", ::getpid()}};
      int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      write_frame(fd, no.dump(-1, ' ', false, json::error_handler_t::replace));
      session.reset();  // closes the connection
      if (idle() && !stopping_) arm_idle();
      return;
    }
    if (!write_reply(fd, json{{"ok", true}, {"daemon_pid", ::getpid()}}.dump())) {
      session->stop();
      sessions_[id] = std::move(session);  // ends through on_done
      return;
    }
    idle_timer_.reset();
    session->attach_client();
    log::info("daemon: session " + std::to_string(id) + " for " + h.cwd + ": " + h.argv[0]);
    sessions_[id] = std::move(session);
    ++total_sessions_;
    pool_.set_active_servers(static_cast<int>(sessions_.size()));
  }

  void control(int fd, const Hello& h) {
    json reply = {{"ok", true}};
    if (h.command == "status") {
      reply["pid"] = ::getpid();
      reply["socket"] = paths_.socket;
      reply["sessions"] = sessions_.size();
      reply["sessions_total"] = total_sessions_;
      reply["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
      reply["cache_mode"] = !store_ ? "off"
                            : store_->mode() == cache::StoreMode::read_write ? "read-write"
                            : store_->mode() == cache::StoreMode::read_only  ? "read-only"
                                                                             : "unavailable";
    } else if (h.command == "stats") {
      reply["stats"] = stats();
    } else if (h.command == "stop") {
      json r = {{"ok", true}, {"pid", ::getpid()}};
      int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      write_frame(fd, r.dump());
      ::close(fd);
      stop();
      return;
    } else if (h.command == "cache.enable" || h.command == "cache.disable") {
      cache_enabled_ = h.command == "cache.enable";
      for (auto& [_, s] : sessions_) s->set_cache_enabled(cache_enabled_);
      if (checks_) checks_->set_cache_enabled(cache_enabled_);
      reply["enabled"] = cache_enabled_;
      log::info(std::string("daemon: cache ") + (cache_enabled_ ? "enabled" : "disabled") + " by command");
    } else if (h.command == "cache.explain") {
      json args = json::parse(h.args.empty() ? "{}" : h.args, nullptr, false);
      std::string uri = args.is_object() ? args.value("uri", std::string()) : std::string();
      std::optional<proxy::Session::LiveExplain> found;
      for (auto& [_, s] : sessions_)
        if ((found = s->explain_live(uri))) break;
      if (found) {
        off_loop(fd, [store = store_, found = std::move(*found)] {
          std::string last = store ? store->get_meta("last-key:" + found.uri).value_or("null") : "null";
          json r = {{"ok", true}};
          r["explain"] = json::parse(cache::CacheInterceptor::explain_with_last(found.now, last), nullptr, false);
          return r;
        });
        return;
      }
      reply = {{"ok", false}, {"error", uri + " is not open in any session of this daemon"}};
    } else if (h.command == "env.optimize") {
      optimize_environment(fd, h);
      return;
    } else if (h.command == "env.stats") {
      json args = json::parse(h.args.empty() ? "{}" : h.args, nullptr, false);
      std::string root = args.is_object() ? args.value("root", std::string()) : std::string();
      reply["environment"] = root.empty() ? json::parse(environment_.stats_json())
                                          : json::parse(environment_.status_json(root));
    } else if (h.command == "cache.clear") {
      if (!store_) {
        reply = {{"ok", false}, {"error", "the daemon runs without a cache"}};
      } else {
        off_loop(fd, [store = store_] {
          json r = {{"ok", true}};
          r["cleared"] = store->stats().entries;
          store->clear();
          return r;
        });
        return;
      }
    } else {
      reply = {{"ok", false}, {"error", "unknown control command '" + h.command + "'"}};
    }
    reply_and_close(fd, reply);
  }

  static void reply_and_close(int fd, const json& reply) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    write_frame(fd, reply.dump(-1, ' ', false, json::error_handler_t::replace));
    ::close(fd);
  }

  // A control command's store work (clearing RocksDB, reading it) runs on a
  // thread of its own, so that no editor of this daemon waits for it; the
  // reply leaves from the loop. Commands are rare (the CLI); run() joins
  // what is still running once the loop has ended.
  void off_loop(int fd, std::function<json()> work) {
    std::uint64_t id = next_admin_++;
    admin_[id] = std::thread([this, id, fd, work = std::move(work)] {
      json reply;
      try {
        reply = work();
      } catch (const std::exception& e) {
        reply = {{"ok", false}, {"error", e.what()}};
      }
      loop_.post([this, id, fd, reply = std::move(reply)] {
        reply_and_close(fd, reply);
        auto it = admin_.find(id);
        if (it == admin_.end()) return;
        it->second.join();  // it has posted this: it is ending
        admin_.erase(it);
      });
    });
  }

  // `env optimize` from the CLI: args {root, env}; the connection gets
  // progress frames {"progress": {message, percent}} and then the final
  // {"ok": true, "result": {...}}. Progress is lossy (a client that does not
  // read loses lines, never blocks the daemon); the final frame is not.
  void optimize_environment(int fd, const Hello& h) {
    json args = json::parse(h.args.empty() ? "{}" : h.args, nullptr, false);
    pool::EnvironmentSpec spec;
    if (args.is_object()) {
      spec.root = args.value("root", std::string());
      if (args["env"].is_array())
        for (const auto& e : args["env"])
          if (e.is_string()) spec.env.push_back(e.get<std::string>());
      spec.lake = args.value("lake", std::string("lake"));
    }
    if (spec.root.empty() || spec.root[0] != '/') {
      json no = {{"ok", false}, {"error", "env.optimize needs an absolute \"root\""}};
      int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      write_frame(fd, no.dump());
      ::close(fd);
      return;
    }
    idle_timer_.reset();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    // Closed with the last callback holding it (also when the run is dropped at shutdown).
    auto conn = std::shared_ptr<int>(new int(fd), [](int* p) {
      if (*p >= 0) ::close(*p);
      delete p;
    });
    environment_.optimize(
        spec,
        [conn](const std::string& message, std::optional<int> percent) {
          json p = {{"message", message}};
          if (percent) p["percent"] = *percent;
          std::string body = json{{"progress", p}}.dump(-1, ' ', false, json::error_handler_t::replace);
          std::string frame = framing::encode(body);
          // Whole frames only: a frame that does not fit is dropped, not split.
          int pending = 0;
          if (::ioctl(*conn, TIOCOUTQ, &pending) == 0 && pending > (256 << 10)) return;
          ssize_t n = ::send(*conn, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n > 0 && static_cast<std::size_t>(n) < frame.size()) {
            int flags = ::fcntl(*conn, F_GETFL);
            ::fcntl(*conn, F_SETFL, flags & ~O_NONBLOCK);
            util::write_all(*conn, std::string_view(frame).substr(static_cast<std::size_t>(n)));
            ::fcntl(*conn, F_SETFL, flags);
          }
        },
        [conn](const std::string& result) {
          json r = {{"ok", true}, {"result", json::parse(result, nullptr, false)}};
          int flags = ::fcntl(*conn, F_GETFL);
          ::fcntl(*conn, F_SETFL, flags & ~O_NONBLOCK);
          timeval tv{5, 0};
          ::setsockopt(*conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
          write_frame(*conn, r.dump(-1, ' ', false, json::error_handler_t::replace));
          ::close(std::exchange(*conn, -1));
        });
  }

  // Sums one session's counters into `into` (numbers added, maps merged;
  // latency percentiles are not additive, so the worst is kept).
  static void accumulate(json& into, const json& from) {
    if (!into.is_object()) into = json::object();
    for (auto& [k, v] : from.items()) {
      if (v.is_object()) {
        accumulate(into[k], v);
      } else if (k.rfind("lookup_p", 0) == 0 && v.is_number()) {
        into[k] = std::max(into.value(k, 0.0), v.get<double>());
      } else if (v.is_number_float()) {
        into[k] = into.value(k, 0.0) + v.get<double>();
      } else if (v.is_number()) {
        into[k] = into.value(k, 0ull) + v.get<unsigned long long>();
      }
    }
  }

  static void add_session(json& totals, const std::string& session_stats) {
    json j = json::parse(session_stats, nullptr, false);
    if (!j.is_object()) return;
    if (j["cache"].is_object()) accumulate(totals["cache"], j["cache"]);
    if (j["proxy"].is_object()) accumulate(totals["proxy"], j["proxy"]);
  }

  // Daemon-wide stats: every session's counters summed (ended ones too), plus the store's.
  json stats() const {
    json totals = ended_totals_;
    for (auto& [_, s] : sessions_) add_session(totals, s->stats_json());
    json cache = totals.value("cache", json::object()), proxy = totals.value("proxy", json::object());
    std::uint64_t lookups = cache.value("hits", 0ull) + cache.value("misses", 0ull);
    cache["hit_rate"] = lookups ? static_cast<double>(cache.value("hits", 0ull)) / static_cast<double>(lookups) : 0.0;
    if (store_) {
      auto st = store_->stats();
      cache["entries"] = st.entries;
      cache["bytes"] = st.bytes;
      cache["evictions"] = st.evictions;
      cache["expirations"] = st.expirations;
      cache["bad_values"] = st.bad_values;
      cache["write_failures"] = st.write_failures;
    }
    proxy["sessions"] = sessions_.size();
    proxy["sessions_total"] = total_sessions_;
    proxy["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    proxy["check_connections"] = check_endpoints_.size();
    json checks = checks_ ? json::parse(checks_->status_json()) : json::parse(pool::CheckStats{}.to_json());
    return {{"schema", 1}, {"cache", cache}, {"proxy", proxy}, {"checks", checks}, {"pool", json::parse(pool_.stats_json())},
            {"environment", json::parse(environment_.stats_json())}};
  }

  // A store locked by another process (typically our predecessor, still
  // stopping) opens read-only; try read-write again every few seconds, so new
  // sessions get a writable cache once the lock is free.
  void retry_store_if_locked() {
    if (!store_ || store_->mode() != cache::StoreMode::read_only ||
        options_.cache.cache == proxy::Options::CacheMode::readonly)
      return;
    store_retry_ = loop_.after(3s, [this] {
      std::string notice;
      auto fresh = proxy::open_cache(options_.cache, notice);
      if (fresh && fresh->mode() == cache::StoreMode::read_write) {
        log::info("daemon: the cache store is free now; new sessions write to it");
        store_ = std::move(fresh);
        store_notice_.clear();
        return;
      }
      retry_store_if_locked();
    });
  }

  // Removes the socket file only while it is still the one we bound: a
  // successor may already have bound a new one at the same path.
  void unlink_socket() {
    struct stat st {};
    if (::lstat(paths_.socket.c_str(), &st) == 0 && st.st_ino == socket_ino_) ::unlink(paths_.socket.c_str());
  }

  void arm_idle() {
    idle_timer_ = loop_.after(std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout), [this] {
      if (!idle()) return;
      log::info("daemon: idle for " + std::to_string(options_.idle_timeout.count()) + " s; exiting");
      stop();
    });
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    listen_watch_.reset();
    unlink_socket();  // new clients start a fresh daemon or run in-process
    if (checks_) checks_->shutdown();
    pool_.shutdown();
    environment_.shutdown();
    check_endpoints_.clear();  // their checks were just failed
    if (sessions_.empty()) {
      // The check servers get their shutdown's grace before the loop ends.
      force_timer_ = loop_.after(500ms, [this] { loop_.stop(); });  // servers get their shutdown's grace
      return;
    }
    for (auto& [_, s] : sessions_) s->stop();
    force_timer_ = loop_.after(10s, [this] { loop_.stop(); });
  }

  DaemonOptions options_;
  int listen_fd_;
  Paths paths_;
  io::EventLoop loop_;
  std::shared_ptr<cache::Store> store_;
  std::string store_notice_;
  std::unique_ptr<io::EventLoop::Watch> listen_watch_;
  std::map<int, std::shared_ptr<Pending>> pending_;
  std::map<std::uint64_t, std::unique_ptr<proxy::Session>> sessions_;
  pool::ServerPool pool_;  ///< after loop_: its servers die before the loop
  pool::Environment environment_;  ///< `env optimize` runs, shared by sessions and the CLI
  std::unique_ptr<pool::CheckService> checks_;
  std::map<std::uint64_t, std::unique_ptr<CheckEndpoint>> check_endpoints_;
  json ended_totals_ = json::object();  ///< counters of ended sessions, so totals survive them
  std::uint64_t next_session_ = 1, total_sessions_ = 0;
  std::map<std::uint64_t, std::thread> admin_;  ///< control commands' store work (off_loop)
  std::uint64_t next_admin_ = 1;
  std::unique_ptr<io::EventLoop::Timer> idle_timer_, force_timer_, store_retry_;
  bool stopping_ = false;
  bool cache_enabled_ = true;
  ino_t socket_ino_ = 0;  ///< `cache enable|disable`: applies to every session, and to new ones
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

bool connectable(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  Paths p = paths(options.cache.cache_dir.value_or(""));
  if (auto problem = ensure_private_dir(p.dir); !problem.empty()) {
    log::error("daemon: " + problem);
    return 1;
  }
  if (p.socket.size() >= sizeof(sockaddr_un::sun_path)) {
    log::error("daemon: socket path too long: " + p.socket);
    return 1;
  }
  // Starting is serialised by the lock: of two daemons (or a daemon and a
  // client about to start one) exactly one binds.
  // A detached daemon was spawned by a client that holds the lock for it
  // until the socket answers; taking it here would deadlock.
  int lock = -1;
  if (!options.detached) {
    lock = ::open(p.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
      log::error("daemon: cannot take " + p.lock + ": " + std::strerror(errno));
      return 1;
    }
  }
  if (connectable(p.socket)) {
    if (!options.detached) log::error("daemon: another daemon is already running on " + p.socket);
    if (lock >= 0) ::close(lock);
    return options.detached ? 0 : 1;
  }
  ::unlink(p.socket.c_str());  // a stale socket of a daemon that died
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, p.socket.c_str(), sizeof addr.sun_path - 1);
  mode_t old_mask = ::umask(0177);  // the socket is born 0600
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (rc != 0 || ::listen(fd, 64) != 0) {
    log::error("daemon: cannot listen on " + p.socket + ": " + std::strerror(errno));
    if (lock >= 0) ::close(lock);
    return 1;
  }
  ::chmod(p.socket.c_str(), 0600);
  if (lock >= 0) ::close(lock);
  proc::become_subreaper();
  Daemon d(options, fd, p);
  return d.run();
}

}  // namespace leanproxy::daemon
