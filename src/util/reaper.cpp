// Reaper: subreaper + signal forwarding + tree cleanup, in plain POSIX.
#include "leanproxy/util/reaper.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::util {

std::string self_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  buf[n] = '\0';
  return buf;
}

int reaper_main(const std::vector<std::string>& argv) {
  if (argv.empty()) return 127;
  proc::become_subreaper();
  // If the proxy dies, so does this tree (SIGTERM: we still clean up).
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // Signals are taken synchronously (sigtimedwait), so none can slip in
  // between a check and a blocking wait.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  sigset_t old;
  ::sigprocmask(SIG_BLOCK, &set, &old);

  pid_t server = ::fork();
  if (server < 0) return 127;
  if (server == 0) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);  // the mask survives exec
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "lean-lsp-proxy: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  // The server holds the stdio pipes now; we must not keep them open, or the
  // proxy would not see EOF when the server goes.
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    if (devnull > 2) ::close(devnull);
  }

  int status = 0;
  bool server_done = false;
  while (!server_done) {
    timespec tick{1, 0};
    int sig = ::sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) ::kill(server, sig);
    for (;;) {  // reap the server and any orphaned descendants
      int st = 0;
      pid_t p = ::waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == server) {
        status = st;
        server_done = true;
      }
    }
  }
  proc::end_descendants(std::chrono::milliseconds(2000));
  if (WIFSIGNALED(status)) {  // die the way the server died, so the proxy can say how
    int sig = WTERMSIG(status);
    ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ::kill(::getpid(), sig);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace leanproxy::util
