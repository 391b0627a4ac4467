// posix_spawn + poll with a deadline; the child is killed when it overstays.
#include "leanproxy/util/run_capture.hpp"

#include "leanproxy/util/proc_tree.hpp"

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace leanproxy::util {

bool Captured::ok() const { return !timed_out && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

Captured run_capture(const std::vector<std::string>& argv, const std::string& cwd, std::chrono::milliseconds timeout,
                     bool with_stderr) {
  Captured c;
  if (argv.empty()) return c;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (with_stderr) posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc;
  {
    auto own = proc::OwnChildren::lock();
    rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    if (rc == 0) proc::OwnChildren::add(pid);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return c;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      c.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t r = ::read(out[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (c.out.size() < (1u << 20)) c.out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(out[0]);
  while (::waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
  }
  proc::OwnChildren::remove(pid);
  return c;
}

}  // namespace leanproxy::util
