// ServerProcess over Boost.Process v2 (pidfd-based exit notification).
#include "leanproxy/io/server_process.hpp"

// Boost 1.81's Process v2 with BOOST_PROCESS_USE_STD_FS forgets this one.
#include <boost/optional.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "asio_context.hpp"
#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/proc_tree.hpp"
#include "leanproxy/util/reaper.hpp"

namespace leanproxy::io {
namespace asio = boost::asio;
namespace bp = boost::process::v2;

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : std::string());
  }
  return "wait status " + std::to_string(status);
}

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));
    r = fds[0];
    w = fds[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A launcher initializer: the child's environment (nullptr keeps ours), and
// _exit when exec fails: Boost's launcher would call exit(), which runs the
// forked copy's atexit handlers — in a multi-threaded daemon those can hang
// for ever while holding every descriptor the daemon had.
struct Environment {
  const char* const* envp;
  template <typename Launcher>
  boost::system::error_code on_setup(Launcher& launcher, const std::filesystem::path&, const char* const*) {
    if (envp) launcher.env = envp;
    return {};
  }
  template <typename Launcher>
  void on_exec_error(Launcher&, const std::filesystem::path&, const char* const*, const boost::system::error_code&) {
    ::_exit(127);
  }
};

std::string env_path(const ServerProcess::Spec& spec) {
  for (const auto& e : spec.env)
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  if (!spec.env.empty()) return {};
  const char* path = std::getenv("PATH");
  return path ? path : "/usr/local/bin:/usr/bin:/bin";
}

class Process final : public ServerProcess {
 public:
  Process(EventLoop& loop, const Spec& spec, Callbacks cb) : err_(context_of(loop)), state_(std::make_shared<State>()) {
    state_->cb = std::move(cb);
    if (spec.argv.empty()) throw std::runtime_error("no server command given");
    std::filesystem::path exe = spec.argv[0];
    if (spec.argv[0].find('/') == std::string::npos) {
      std::string path_list = env_path(spec);
      exe = util::find_on_path(spec.argv[0], path_list);
      if (exe.empty())
        throw std::runtime_error("cannot find the server executable '" + spec.argv[0] + "' on PATH (" + path_list + ")");
    } else if (::access(exe.c_str(), X_OK) != 0) {
      throw std::runtime_error("the server executable '" + exe.string() + "' is missing or not executable");
    }
    // /proc/self/exe, not its resolved path: after an upgrade the path names
    // a deleted file, while /proc/self/exe still execs the running binary.
    std::string reaper = "/proc/self/exe";
    std::error_code fec;
    if (!spec.cwd.empty() && !std::filesystem::is_directory(spec.cwd, fec))
      throw std::runtime_error("server working directory '" + spec.cwd + "' is not a directory");

    Pipe in, out, err;
    // Started by absolute path under our reaper: `__reaper -- /abs/server args…`.
    std::vector<std::string> args{util::reaper_command, "--", exe.string()};
    args.insert(args.end(), spec.argv.begin() + 1, spec.argv.end());
    env_storage_ = spec.env;
    for (auto& e : env_storage_) env_ptrs_.push_back(e.c_str());
    env_ptrs_.push_back(nullptr);
    try {
      auto own = proc::OwnChildren::lock();  // our reaper must never take its exit status
      proc_ = std::make_unique<bp::process>(context_of(loop), reaper, args, bp::process_stdio{in.r, out.w, err.w},
                                            bp::process_start_dir{spec.cwd.empty() ? "." : spec.cwd},
                                            Environment{spec.env.empty() ? nullptr : env_ptrs_.data()});
      proc::OwnChildren::add(proc_->id());
    } catch (const std::exception& e) {
      for (int* fd : {&in.r, &in.w, &out.r, &out.w, &err.r, &err.w}) close_fd(*fd);
      throw std::runtime_error("cannot start server '" + exe.string() + "': " + e.what());
    }
    close_fd(in.r);
    close_fd(out.w);
    close_fd(err.w);
    stdin_w_ = in.w;
    stdout_r_ = out.r;
    err_.assign(err.r);
    pid_ = proc_->id();
    log::info("started server pid " + std::to_string(pid_) + ": " + exe.string());
    read_stderr();
    proc_->handle().async_wait([state = state_, pid = pid_](const boost::system::error_code& ec, int status) {
      state->running = false;
      proc::OwnChildren::remove(pid);
      if (state->detached) return;
      std::string desc = ec ? "wait failed: " + ec.message() : describe_wait_status(status);
      if (state->cb.on_exit) state->cb.on_exit(status, desc);
    });
  }

  ~Process() override {
    state_->detached = true;
    boost::system::error_code ignored;
    err_.close(ignored);
    close_fd(stdin_w_);
    close_fd(stdout_r_);
    // Never leave it behind: the process object's destructor would SIGKILL a
    // still-running child; our owner has normally waited for the exit already.
  }

  pid_t pid() const override { return pid_; }
  bool running() const override { return state_->running; }
  int take_stdin_fd() override { return std::exchange(stdin_w_, -1); }
  int take_stdout_fd() override { return std::exchange(stdout_r_, -1); }
  void set_callbacks(Callbacks cb) override { state_->cb = std::move(cb); }
  void terminate() override {
    if (state_->running) ::kill(pid_, SIGTERM);
  }
  void kill() override {
    if (!state_->running) return;
    // SIGKILL cannot be forwarded by the reaper: end its whole tree ourselves,
    // children first, so nothing (a hung server holding our pipes) survives.
    for (pid_t p : proc::descendants(pid_)) ::kill(p, SIGKILL);
    ::kill(pid_, SIGKILL);
  }

 private:
  struct State {
    Callbacks cb;
    bool running = true;
    bool detached = false;
    std::string partial;  // stderr bytes after the last newline
  };

  void read_stderr() {
    err_.async_read_some(asio::buffer(err_buf_), [this, state = state_](const boost::system::error_code& ec,
                                                                         std::size_t n) {
      if (state->detached) return;
      if (ec) {
        if (!state->partial.empty() && state->cb.on_stderr_line) state->cb.on_stderr_line(state->partial);
        state->partial.clear();
        return;
      }
      state->partial.append(err_buf_, n);
      std::size_t nl;
      while ((nl = state->partial.find('\n')) != std::string::npos) {
        std::string line = state->partial.substr(0, nl);
        state->partial.erase(0, nl + 1);
        if (state->cb.on_stderr_line) state->cb.on_stderr_line(line);
      }
      if (state->partial.size() > 64 * 1024) {  // a line without end: log it in pieces
        if (state->cb.on_stderr_line) state->cb.on_stderr_line(state->partial);
        state->partial.clear();
      }
      read_stderr();
    });
  }

  std::unique_ptr<bp::process> proc_;
  std::vector<std::string> env_storage_;
  std::vector<const char*> env_ptrs_;
  asio::posix::stream_descriptor err_;
  char err_buf_[4096];
  std::shared_ptr<State> state_;
  pid_t pid_ = -1;
  int stdin_w_ = -1, stdout_r_ = -1;
};

}  // namespace

std::unique_ptr<ServerProcess> ServerProcess::spawn(EventLoop& loop, const Spec& spec, Callbacks callbacks) {
  return std::make_unique<Process>(loop, spec, std::move(callbacks));
}

}  // namespace leanproxy::io
