// The editor's side of a daemon session: a router whose "server" is the
// daemon connection, so a daemon that dies is replaced (a new daemon, else an
// in-process proxy) and the editor's documents are replayed to it.
#include <cerrno>
#include <cstring>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "leanproxy/daemon/client.hpp"
#include "leanproxy/framing/frame_parser.hpp"
#include "leanproxy/protocol/message.hpp"
#include "leanproxy/proxy/router.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/fd_io.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/reaper.hpp"

namespace leanproxy::daemon {
namespace {

using namespace std::chrono_literals;
using protocol::Message;

constexpr int kMessageError = 1, kMessageWarning = 2;

// This process's command line, to start the same proxy in-process.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t pos = 0; pos < all.size();) {
    std::size_t end = all.find('\0', pos);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  return args;
}

/// Invariants (beyond the Router's own):
///  - the editor only ever receives whole frames: a daemon that dies in the
///    middle of a frame leaves a fragment that is dropped, not forwarded;
///  - an upstream's end is a death unless it announced the session's end
///    (`$/leanProxy/sessionEnding`), the editor sent `exit`, or the editor
///    closed its side; only a death is replaced;
///  - replacements are bounded by the router's restart budget (5 a minute),
///    so a daemon that dies on some message cannot make the relay spin.
class Relay final : public proxy::RouterIo {
 public:
  explicit Relay(const proxy::Options& o)
      : options_(o), router_(*this, proxy::Router::RestartPolicy{}), from_client_(o.max_message_size),
        from_upstream_(o.max_message_size) {}

  int run(SessionLink link) {
    attach(link.fd, link.rest);
    daemon_pid_ = link.daemon_pid;
    router_.server_started();
    std::vector<char> buf(1 << 16);
    while (!editor_gone_ && upstream_ >= 0) {
      pollfd fds[2] = {{upstream_, POLLIN, 0}, {stdin_open_ ? 0 : -1, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(upstream_, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          if (!upstream_lost()) break;
          continue;  // a new upstream: poll it
        }
        from_upstream_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        drain_upstream();
      }
      if (stdin_open_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::read(0, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          stdin_open_ = false;
          ::shutdown(upstream_, SHUT_WR);  // the session sees EOF and shuts its server down
          continue;
        }
        from_client_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        drain_client();
      }
    }
    close_upstream();
    return router_.shutdown_received() ? 0 : 1;
  }

  // RouterIo
  void send_to_client(std::string body) override {
    if (!editor_gone_ && !util::write_all(1, framing::encode(body))) editor_gone_ = true;
  }
  void send_to_server(std::string body) override {
    // A failed write is noticed as EOF by the next poll; what it carried is
    // covered there (the replay re-opens documents, requests get errors).
    if (upstream_ >= 0) util::write_all(upstream_, framing::encode(body));
  }

 private:
  void attach(int fd, const std::string& rest) {
    upstream_ = fd;
    from_upstream_ = framing::FrameParser(options_.max_message_size);
    goodbye_ = false;
    if (!rest.empty()) {
      from_upstream_.feed(rest);
      drain_upstream();
    }
  }

  void drain_client() {
    for (auto r = from_client_.next(); r.status != framing::FrameParser::Status::need_more; r = from_client_.next()) {
      if (r.status == framing::FrameParser::Status::error) {
        log::warn("client: " + r.error);
        if (!r.sample.empty()) log::trace("client: the bytes: \"" + r.sample + "\"");
        continue;
      }
      router_.from_client(Message::parse(std::move(r.body)));
    }
  }

  void drain_upstream() {
    for (auto r = from_upstream_.next(); r.status != framing::FrameParser::Status::need_more;
         r = from_upstream_.next()) {
      if (r.status == framing::FrameParser::Status::error) {
        log::warn("daemon connection: " + r.error);
        continue;
      }
      Message m = Message::parse(std::move(r.body));
      if (m.kind() == protocol::Kind::notification && m.method() == proxy::session_ending_method) {
        goodbye_ = true;
        continue;
      }
      router_.from_server(std::move(m));
    }
  }

  void close_upstream() {
    if (upstream_ >= 0) ::close(upstream_);
    upstream_ = -1;
    if (child_ <= 0) return;
    // The in-process proxy ends its server when its input closes; give it
    // the time it gives the server, then make sure.
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(child_, nullptr, WNOHANG) == child_) {
        child_ = -1;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    ::kill(child_, SIGTERM);
    ::waitpid(child_, nullptr, 0);
    child_ = -1;
  }

  // The upstream ended. True when a replacement is attached and replayed.
  bool upstream_lost() {
    std::string what = child_ > 0 ? "the in-process lean-lsp-proxy (pid " + std::to_string(child_) + ") exited"
                                  : "the lean-lsp-proxy daemon (pid " + std::to_string(daemon_pid_) + ") went away";
    close_upstream();
    if (router_.exit_received() || !stdin_open_) return false;  // the session was ending anyway
    if (goodbye_) {
      log::info("the lean-lsp-proxy daemon ended this session");
      return false;
    }
    if (!router_.server_exited(what)) return false;  // the budget is spent; the editor was told
    std::this_thread::sleep_for(proxy::Router::backoff(router_.recent_crashes()));
    return replace(what);
  }

  // A new daemon, else the same proxy in this process's child; then the
  // router replays initialize and the documents to it.
  bool replace(const std::string& what) {
    // A daemon being killed can still accept a connection on its listening
    // socket for a moment and then close it: try again before falling back.
    SessionLink link = open_session(options_);
    for (int attempt = 1; link.fd < 0 && !link.fatal && attempt < 4; ++attempt) {
      std::this_thread::sleep_for(attempt * 100ms);
      link = open_session(options_);
    }
    std::string how;
    if (link.fd >= 0) {
      attach(link.fd, link.rest);
      daemon_pid_ = link.daemon_pid;
      how = "reconnected to a new daemon (pid " + std::to_string(daemon_pid_) + ")";
    } else {
      std::string problem = link.error;
      if (link.fatal || !spawn_in_process(problem)) {
        std::string msg = "lean-lsp-proxy: " + what + " and could not be replaced (" + problem +
                          "); restart the language server from your editor";
        log::error(msg);
        send_to_client(protocol::make_log_message(kMessageError, msg, /*show=*/true));
        return false;
      }
      how = "running in-process from now on (no daemon: " + link.error + ")";
    }
    std::size_t docs = router_.documents().size();
    router_.server_started();  // re-sends initialize, then re-opens every document
    std::string msg = "lean-lsp-proxy: " + what + "; " + how;
    if (docs) msg += ", re-opening " + std::to_string(docs) + " document(s)";
    log::warn(msg);
    send_to_client(protocol::make_log_message(kMessageWarning, msg, /*show=*/true));
    return true;
  }

  // `lean-lsp-proxy --no-daemon <the same arguments>` on a socket pair.
  bool spawn_in_process(std::string& problem) {
    std::vector<std::string> args = own_arguments();
    if (args.empty()) {
      problem += "; cannot read this process's arguments";
      return false;
    }
    args[0] = util::self_executable();
    args.insert(args.begin() + 1, "--no-daemon");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      problem += std::string("; socketpair: ") + std::strerror(errno);
      return false;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      problem += std::string("; fork: ") + std::strerror(errno);
      ::close(sv[0]);
      ::close(sv[1]);
      return false;
    }
    if (pid == 0) {  // dup2 clears close-on-exec on 0 and 1 only
      ::dup2(sv[1], 0);
      ::dup2(sv[1], 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(sv[1]);
    child_ = pid;
    attach(sv[0], {});
    return true;
  }

  proxy::Options options_;
  proxy::Router router_;
  framing::FrameParser from_client_, from_upstream_;
  int upstream_ = -1;
  pid_t child_ = -1;  ///< the in-process fallback, when it is the upstream
  long daemon_pid_ = 0;
  bool stdin_open_ = true, editor_gone_ = false;
  bool goodbye_ = false;  ///< the upstream announced the session's end
};

}  // namespace

std::optional<int> run_via_daemon(const proxy::Options& o, std::string& error) {
  SessionLink link = open_session(o);
  if (link.fd < 0) {
    error = link.error;
    if (!link.fatal) return std::nullopt;
    // The daemon works; this session cannot (its server does not start).
    // In-process would fail the same way: report it, as in-process does.
    log::error("lean-lsp-proxy daemon (pid " + std::to_string(link.daemon_pid) + "): " + error);
    return 1;
  }
  log::info("connected to the lean-lsp-proxy daemon (pid " + std::to_string(link.daemon_pid) + ")");
  std::signal(SIGPIPE, SIG_IGN);
  return Relay(o).run(std::move(link));
}

}  // namespace leanproxy::daemon
