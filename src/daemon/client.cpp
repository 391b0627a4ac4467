// Daemon clients: connect or start (under the lock), the stdio relay, control.
#include "leanproxy/daemon/client.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "leanproxy/daemon/paths.hpp"
#include "leanproxy/daemon/wire.hpp"
#include "leanproxy/framing/frame_parser.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/reaper.hpp"

extern char** environ;

namespace leanproxy::daemon {
namespace {

using namespace std::chrono_literals;

// Connects only to a daemon of ours: the directory must be ours and private
// (else anyone could plant a socket there and read the hello, which carries
// the environment), and the peer must run as our uid.
int try_connect(const std::string& path, std::string* refused = nullptr) {
  struct stat dir {};
  std::string parent = path.substr(0, path.rfind('/'));
  if (::lstat(parent.c_str(), &dir) != 0) return -1;
  if (!S_ISDIR(dir.st_mode) || dir.st_uid != ::getuid() || (dir.st_mode & 0077) != 0) {
    if (refused) *refused = "'" + parent + "' is not a private directory of ours; not connecting to a daemon there";
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
    if (refused) *refused = "the daemon socket " + path + " belongs to uid " + std::to_string(cred.uid);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Starts `lean-lsp-proxy daemon --detached …` fully detached: its own session,
// no inherited descriptors (an editor waiting on a pipe the daemon held would
// hang), stdin/stdout on /dev/null, stderr to the daemon log.
bool spawn_daemon(const proxy::Options& o, const Paths& p) {
  std::string self = util::self_executable();
  std::vector<std::string> args{self, "daemon", "--detached", "--log-file", p.log};
  if (o.cache_dir) args.insert(args.end(), {"--cache-dir", *o.cache_dir});
  if (o.cache == proxy::Options::CacheMode::readonly) args.insert(args.end(), {"--cache", "readonly"});
  if (o.cache == proxy::Options::CacheMode::off) args.insert(args.end(), {"--cache", "off"});
  args.insert(args.end(), {"--cache-ttl", std::to_string(o.cache_ttl_s), "--cache-max-size", std::to_string(o.cache_max_size)});
  args.insert(args.end(), {"--pool-spares", std::to_string(o.pool_spares), "--pool-max-servers",
                           std::to_string(o.pool_max_servers)});
  if (o.pool_max_memory) args.insert(args.end(), {"--pool-max-memory", std::to_string(o.pool_max_memory)});
  args.insert(args.end(), {"--pool-idle", std::to_string(o.pool_idle_s)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the grandchild is re-parented away from the editor
    int devnull = ::open("/dev/null", O_RDWR);
    int log = ::open(p.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(log >= 0 ? log : devnull, 2);
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);  // close_range is newer than some kernels here
    if (::chdir("/") != 0) ::_exit(127);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return true;
}

std::vector<std::string> current_env() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

}  // namespace

int connect_or_start(const proxy::Options& o, std::string& error, bool start) {
  Paths p = paths(o.cache_dir.value_or(""));
  std::string refused;
  int fd = try_connect(p.socket, &refused);
  if (fd >= 0 || !start) {
    if (fd < 0) error = refused.empty() ? "no lean-lsp-proxy daemon is running (socket " + p.socket + ")" : refused;
    return fd;
  }
  if (auto problem = ensure_private_dir(p.dir); !problem.empty()) {
    error = problem;
    return -1;
  }
  int lock = ::open(p.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    error = "cannot open " + p.lock + ": " + std::strerror(errno);
    return -1;
  }
  // Whoever holds the lock starts the daemon; the others wait and then find it.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::close(lock);
      error = "timed out waiting for another process starting the daemon";
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  fd = try_connect(p.socket);
  if (fd < 0 && spawn_daemon(o, p)) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while ((fd = try_connect(p.socket)) < 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(10ms);
    if (fd < 0) error = "the daemon did not come up within 10 s (see " + p.log + ")";
  }
  ::close(lock);
  return fd;
}

std::optional<std::string> control(const std::string& command, std::string& error, bool start,
                                   const proxy::Options& cache_options, const std::string& args_json) {
  int fd = connect_or_start(cache_options, error, start);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> reply;
  if (write_frame(fd, encode_control_hello(command, args_json))) reply = read_frame(fd, 30000, error);
  else error = "cannot talk to the daemon";
  ::close(fd);
  return reply;
}

std::optional<std::string> control_stream(const std::string& command, std::string& error, bool start,
                                          const proxy::Options& cache_options, const std::string& args_json,
                                          const std::function<void(const std::string&)>& on_progress) {
  int fd = connect_or_start(cache_options, error, start);
  if (fd < 0) return std::nullopt;
  if (!write_frame(fd, encode_control_hello(command, args_json))) {
    error = "cannot talk to the daemon";
    ::close(fd);
    return std::nullopt;
  }
  framing::FrameParser parser(64u << 20);
  std::vector<char> buf(1 << 16);
  for (;;) {
    for (auto r = parser.next(); r.status != framing::FrameParser::Status::need_more; r = parser.next()) {
      if (r.status == framing::FrameParser::Status::error) {
        error = "bad frame from the daemon: " + r.error;
        ::close(fd);
        return std::nullopt;
      }
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_object() && j.contains("progress") && !j.contains("ok")) {
        if (on_progress) on_progress(j["progress"].dump());
        continue;
      }
      ::close(fd);
      return std::move(r.body);
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());  // runs as long as the daemon's work does
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "the daemon closed the connection before replying";
      ::close(fd);
      return std::nullopt;
    }
    parser.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
}

int open_checks_connection(const proxy::Options& o, std::string& error) {
  proxy::SessionConfig config = proxy::session_config(o);
  int fd = connect_or_start(o, error);
  if (fd < 0) return -1;
  std::optional<std::string> reply;
  if (write_frame(fd, encode_session_hello(config.options, config.argv, config.cwd, current_env(), "checks")))
    reply = read_frame(fd, 30000, error);
  auto j = reply ? nlohmann::json::parse(*reply, nullptr, false) : nlohmann::json();
  if (!j.is_object() || !j.value("ok", false)) {
    if (reply) error = j.is_object() && j["error"].is_string() ? j["error"].get<std::string>() : "bad reply";
    ::close(fd);
    return -1;
  }
  return fd;
}

SessionLink open_session(const proxy::Options& o) {
  SessionLink link;
  proxy::SessionConfig config = proxy::session_config(o);
  int fd = connect_or_start(o, link.error);
  if (fd < 0) return link;
  std::optional<std::string> reply;
  if (write_frame(fd, encode_session_hello(config.options, config.argv, config.cwd, current_env())))
    reply = read_frame(fd, 30000, link.error, &link.rest);
  if (!reply) {
    ::close(fd);
    return link;
  }
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  if (j.is_object() && j["daemon_pid"].is_number()) link.daemon_pid = j["daemon_pid"].get<long>();
  if (!j.is_object() || !j.value("ok", false)) {
    link.error = j.is_object() && j["error"].is_string() ? j["error"].get<std::string>() : "bad reply";
    // The daemon works; this session cannot (its server does not start).
    link.fatal = j.is_object() && j.value("fatal", false);
    ::close(fd);
    return link;
  }
  link.fd = fd;
  return link;
}

}  // namespace leanproxy::daemon
