// The bubblewrap command line for sandboxed checks, and the probe that bwrap works here.
#include "leanproxy/pool/sandbox.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/proc_tree.hpp"

extern char** environ;

namespace leanproxy::pool {

namespace {

bool under_tmp(std::string_view p) { return p == "/tmp" || p.rfind("/tmp/", 0) == 0; }

std::string parent_dir(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : p.substr(0, slash);
}

struct Probe {
  bool ok = false;
  std::string output;  ///< bwrap's stdout + stderr (its reason when it fails)
};

// Runs `argv` with stdout and stderr captured, stdin /dev/null, a deadline.
// Registered as our own child, so a subreaper's orphan reaping leaves its
// status to us (as util::run_capture does).
Probe run_probe(const std::vector<std::string>& argv) {
  Probe r;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc;
  {
    auto own = proc::OwnChildren::lock();
    rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    if (rc == 0) proc::OwnChildren::add(pid);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    r.output = std::string("cannot run ") + argv[0];
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool timed_out = false;
  char buf[1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (r.output.size() < 4096) r.output.append(buf, static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  proc::OwnChildren::remove(pid);
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) r.output.pop_back();
  if (timed_out) r.output = "bwrap did not finish within 5 s";
  r.ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

}  // namespace

std::vector<std::string> sandbox_argv(const std::string& bwrap, const std::vector<std::string>& argv,
                                      const std::string& cwd) {
  std::vector<std::string> a{bwrap,
                             "--die-with-parent",  // our reaper goes: the sandbox goes
                             "--new-session",      // no controlling terminal to push input into (TIOCSTI)
                             "--unshare-net",      // loopback only
                             "--unshare-pid",      // bwrap is its pid 1: when it dies, everything inside does
                             "--unshare-ipc",
                             "--unshare-uts",
                             "--unshare-cgroup-try",
                             "--ro-bind", "/", "/",  // the workspace, its .lake, the toolchain, $HOME: read-only
                             "--dev", "/dev",
                             "--proc", "/proc",
                             "--tmpfs", "/tmp"};
  // Paths the server needs that the private /tmp would hide, outermost first
  // (a path inside another one is already visible through it).
  std::vector<std::string> keep;
  for (const std::string& p : {cwd, argv.empty() ? std::string() : parent_dir(argv[0])})
    if (under_tmp(p)) keep.push_back(p);
  std::sort(keep.begin(), keep.end());
  std::vector<std::string> outer;
  for (const auto& p : keep)
    if (outer.empty() || !(p == outer.back() || p.rfind(outer.back() + "/", 0) == 0)) outer.push_back(p);
  for (const auto& p : outer) a.insert(a.end(), {"--ro-bind", p, p});
  a.insert(a.end(), {"--setenv", "TMPDIR", "/tmp", "--chdir", cwd.empty() ? std::string("/") : cwd, "--"});
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

SandboxCommand make_sandboxed(const std::vector<std::string>& argv, const std::string& cwd,
                              const std::string& path_list) {
  SandboxCommand c;
  const std::string not_run = "; the check was not run (it never runs unsandboxed when --sandbox is asked for)";
  std::string bwrap = util::find_on_path("bwrap", path_list);  // as the server: from the session's PATH
  if (bwrap.empty()) {
    c.problem = "--sandbox needs bubblewrap, and `bwrap` is not on PATH (Debian: apt-get install bubblewrap)" + not_run;
    return c;
  }
  if (argv.empty()) {
    c.problem = "no server command given";
    return c;
  }
  // The server by absolute path, found as the unsandboxed server would be:
  // bwrap's own lookup would otherwise decide which `lake` runs.
  std::vector<std::string> server = argv;
  if (server[0].find('/') == std::string::npos) {
    server[0] = util::find_on_path(argv[0], path_list);
    if (server[0].empty()) {
      c.problem = "cannot find the server executable '" + argv[0] + "' on PATH (" + path_list + ")";
      return c;
    }
  }
  std::string true_exe = util::find_on_path("true", "/usr/bin:/bin");
  Probe p = run_probe(sandbox_argv(bwrap, {true_exe.empty() ? std::string("/bin/true") : true_exe}, "/"));
  if (!p.ok) {
    c.problem = "--sandbox: bubblewrap (" + bwrap + ") cannot set up its sandbox here" +
                (p.output.empty() ? std::string() : " (" + p.output + ")") +
                "; user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
                "user.max_user_namespaces) or forbidden in this container" + not_run;
    return c;
  }
  c.argv = sandbox_argv(bwrap, server, cwd);
  return c;
}

}  // namespace leanproxy::pool
