// The bubblewrap command line for sandboxed checks, and the probe that bwrap works here.
#include "leanproxy/pool/sandbox.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/run_capture.hpp"

namespace leanproxy::pool {

namespace {

bool under_tmp(std::string_view p) { return p == "/tmp" || p.rfind("/tmp/", 0) == 0; }

std::string parent_dir(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : p.substr(0, slash);
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
  auto p = util::run_capture(sandbox_argv(bwrap, {true_exe.empty() ? std::string("/bin/true") : true_exe}, "/"), "/",
                             std::chrono::seconds(5), /*with_stderr=*/true);
  std::string output = p.timed_out ? "bwrap did not finish within 5 s" : p.out.substr(0, 4096);
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (!p.ok()) {
    c.problem = "--sandbox: bubblewrap (" + bwrap + ") cannot set up its sandbox here" +
                (output.empty() ? std::string() : " (" + output + ")") +
                "; user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
                "user.max_user_namespaces) or forbidden in this container" + not_run;
    return c;
  }
  c.argv = sandbox_argv(bwrap, server, cwd);
  return c;
}

}  // namespace leanproxy::pool
