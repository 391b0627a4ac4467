// The simulated `lake` executable: --version, serve (stays the parent of
// `lean --server`), build (writes .olean/.ilean/.hash/.trace), env.
#include "sim_util.hpp"
#include "workspace.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

using namespace leansim;

namespace {

pid_t g_child = -1;

void forward_signal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ":") + s;
  return out;
}

/// The environment Lake gives Lean: search paths, and where lake/lean live.
std::vector<std::pair<std::string, std::string>> lake_env(const std::optional<Workspace>& ws) {
  std::vector<std::string> lp, sp;
  if (ws) {
    lp = ws->lean_path();
    sp = ws->src_path();
  }
  std::string old_lp = env_str("LEAN_PATH"), old_sp = env_str("LEAN_SRC_PATH");
  if (!old_lp.empty()) lp.push_back(old_lp);
  if (!old_sp.empty()) sp.push_back(old_sp);
  std::string lib = toolchain_lib();
  return {{"LAKE", self_exe()},
          {"LAKE_HOME", self_dir()},
          {"LEAN", self_dir() + "/lean"},
          {"LEAN_SYSROOT", lib.substr(0, lib.size() - std::string("/lib/lean").size())},
          {"LEAN_GITHASH", lean_githash()},
          {"LEAN_PATH", join(lp)},
          {"LEAN_SRC_PATH", join(sp)}};
}

void apply_env(const std::optional<Workspace>& ws) {
  for (const auto& [k, v] : lake_env(ws)) ::setenv(k.c_str(), v.c_str(), 1);
}

std::optional<Workspace> require_workspace() {
  std::string cwd = std::filesystem::current_path().string();
  auto ws = load_workspace(cwd);
  if (!ws)
    std::cerr << "error: no configuration file with a supported extension:\n"
              << cwd << "/lakefile.lean\n" << cwd << "/lakefile.toml\n";
  return ws;
}

int serve(const std::vector<std::string>& rest) {
  auto ws = load_workspace(std::filesystem::current_path().string());
  apply_env(ws);
  std::vector<std::string> argv{self_dir() + "/lean", "--server"};
  argv.insert(argv.end(), rest.begin(), rest.end());
  // Real Lake stays the parent of the server: editors and proxies see a
  // `lake` process whose child is `lean --server`.
  pid_t parent = getpid();
  g_child = ::fork();
  if (g_child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    _exit(127);
  }
  if (g_child < 0) return 1;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, forward_signal);
  int status = 0;
  while (::waitpid(g_child, &status, 0) < 0 && errno == EINTR) {
  }
  return decode_status(status);
}

int build(const std::vector<std::string>& targets) {
  auto ws = require_workspace();
  if (!ws) return 1;
  Builder b(*ws, false, [](const std::string& line) { std::cout << line << "\n" << std::flush; });
  std::vector<std::string> mods = targets.empty() ? b.root_modules() : targets;
  bool ok = true;
  for (const auto& m : mods) {
    auto s = b.build(m).status;
    ok &= s == ModStatus::built || s == ModStatus::up_to_date;
  }
  if (!ok) {
    std::cout << "error: build failed\n";
    return 1;
  }
  std::cout << "Build completed successfully (" << b.built_count() << " jobs).\n";
  return 0;
}

// `lake exe cache get`, Mathlib's cache tool: the real one downloads and
// unpacks prebuilt .olean files; the simulator only says so (and logs it).
int exe(const std::vector<std::string>& rest) {
  auto ws = require_workspace();
  if (!ws) return 1;
  if (rest.size() >= 2 && rest[0] == "cache" && rest[1] == "get") {
    event("cache_get", {{"cwd", std::filesystem::current_path().string()}});
    std::cout << "Attempting to download 3 file(s)\n" << std::flush;
    std::cout << "Downloaded: 3 file(s) [attempted 3/3 = 100%, 12 KB/s]\n" << std::flush;
    std::cout << "Decompressing 3 file(s)\n" << std::flush;
    std::cout << "Unpacked in 1 ms\n" << std::flush;
    return 0;
  }
  std::cerr << "error: unknown executable '" << (rest.empty() ? std::string() : rest[0]) << "'\n";
  return 1;
}

int env_cmd(const std::vector<std::string>& rest) {
  auto ws = load_workspace(std::filesystem::current_path().string());
  if (rest.empty()) {
    for (const auto& [k, v] : lake_env(ws)) std::cout << k << "=" << v << "\n";
    return 0;
  }
  apply_env(ws);
  std::vector<char*> a;
  std::vector<std::string> copy = rest;
  for (auto& s : copy) a.push_back(s.data());
  a.push_back(nullptr);
  ::execvp(a[0], a.data());
  std::cerr << "error: could not execute '" << rest[0] << "'\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // elan's toolchain selector (`lake +leanprover/lean4:v4.28.0 serve`, as
  // vscode-lean4 runs it for some files): this is the only toolchain, so ignore it.
  if (!args.empty() && args[0].rfind("+", 0) == 0) args.erase(args.begin());
  if (args.empty()) {
    std::cerr << "usage: lake [--version | serve [-- args] | build [modules] | env [cmd] | exe cache get]\n";
    return 1;
  }
  if (args[0] == "--version") {
    std::cout << "Lake version 5.0.0-sim (Lean version " << lean_version() << ")\n";
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "serve") {
    if (!rest.empty() && rest[0] == "--") rest.erase(rest.begin());
    return serve(rest);
  }
  if (args[0] == "build") return build(rest);
  if (args[0] == "env") return env_cmd(rest);
  if (args[0] == "exe") return exe(rest);
  std::cerr << "error: unknown command '" << args[0] << "'\n";
  return 1;
}
