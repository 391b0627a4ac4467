// lake / lean shims: decide server-or-not, find the real tool past every shim, exec.
#include "leanproxy/shims/shim.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/reaper.hpp"

extern char** environ;

namespace leanproxy::shims {
namespace fs = std::filesystem;

namespace {

constexpr const char* proxy_name = "lean-lsp-proxy";

/// Arguments after elan's optional leading `+toolchain` selector.
std::vector<std::string> without_toolchain(const std::vector<std::string>& args) {
  if (!args.empty() && args[0].rfind('+', 0) == 0) return {args.begin() + 1, args.end()};
  return args;
}

/// A shim of some lean-lsp-proxy install: the path resolves to a file whose
/// name starts with "lean-lsp-proxy" (covers other builds and versions).
bool is_proxy_shim(const std::string& path) {
  std::error_code ec;
  fs::path target = fs::canonical(path, ec);
  return !ec && target.filename().string().rfind(proxy_name, 0) == 0;
}

int exec_or_report(const std::vector<std::string>& argv, const std::string& exe, std::string_view tool) {
  std::vector<char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(const_cast<char*>(a.c_str()));
  ptrs.push_back(nullptr);
  ::execv(exe.c_str(), ptrs.data());
  std::cerr << "lean-lsp-proxy (" << tool << " shim): cannot run " << exe << ": " << std::strerror(errno) << "\n";
  return 127;
}

}  // namespace

bool is_server_invocation(std::string_view tool, const std::vector<std::string>& args) {
  auto rest = without_toolchain(args);
  // vscode-lean4 and lspconfig start Lake with `serve` as the command word;
  // Lake options before it are not something editors send.
  if (tool == "lake") return !rest.empty() && rest[0] == "serve";
  if (tool == "lean") {
    for (const auto& a : rest) {
      if (a == "--") break;
      if (a == "--server") return true;
    }
  }
  return false;
}

std::string find_real_tool(std::string_view name, std::string_view path_list, const std::string& self) {
  // One PATH entry at a time, so a shim of another install found in one
  // directory does not hide the real tool in a later one.
  while (true) {
    auto colon = path_list.find(':');
    std::string found = util::find_on_path(name, path_list.substr(0, colon), self);
    if (!found.empty() && !is_proxy_shim(found)) return found;
    if (colon == std::string_view::npos) return {};
    path_list.remove_prefix(colon + 1);
  }
}

std::vector<std::string> shim_exec_argv(const std::string& real, std::string_view tool,
                                        const std::vector<std::string>& args, bool proxy_active) {
  std::vector<std::string> out;
  if (!proxy_active && is_server_invocation(tool, args)) {
    // argv[0] is the proxy's own name, so the proxy does not act as a shim again.
    out = {proxy_name, "--"};
  }
  out.push_back(real);
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

std::vector<std::string> server_environment(const std::vector<std::string>& base) {
  std::vector<std::string> env;
  const std::string prefix = std::string(active_variable) + "=";
  auto keep = [&](const std::string& e) {
    if (e.rfind(prefix, 0) != 0) env.push_back(e);
  };
  if (base.empty()) {
    for (char** e = environ; e && *e; ++e) keep(*e);
  } else {
    for (const auto& e : base) keep(e);
  }
  env.push_back(prefix + "1");
  return env;
}

std::optional<int> run_as_shim(int argc, char** argv) {
  if (argc < 1 || !argv[0]) return std::nullopt;
  std::string tool = fs::path(argv[0]).filename().string();
  if (tool != "lake" && tool != "lean") return std::nullopt;

  std::vector<std::string> args(argv + 1, argv + argc);
  std::string self = util::self_executable();
  const char* path = std::getenv("PATH");
  std::string real = find_real_tool(tool, path ? path : "/usr/local/bin:/usr/bin:/bin", self);
  if (real.empty()) {
    std::cerr << "lean-lsp-proxy (" << tool << " shim): no real '" << tool
              << "' on PATH besides the lean-lsp-proxy shims; install elan or put the Lean toolchain's bin "
                 "directory on PATH\n";
    return 127;
  }
  const char* active = std::getenv(active_variable);
  bool proxy_active = active && std::string_view(active) == "1";
  auto exec_argv = shim_exec_argv(real, tool, args, proxy_active);
  if (exec_argv.front() == real) return exec_or_report(exec_argv, real, tool);  // untouched pass-through
  // The proxy and, through it, the server inherit the guard, so a `lean
  // --server` that Lake starts through the `lean` shim runs the real Lean.
  ::setenv(active_variable, "1", 1);
  return exec_or_report(exec_argv, self, tool);
}

int shims_install(const std::string& dir) {
  std::string self = util::self_executable();
  if (self.empty()) {
    std::cerr << "lean-lsp-proxy: cannot find this executable's path (/proc/self/exe)\n";
    return 1;
  }
  std::error_code ec;
  fs::path d = fs::absolute(dir, ec);
  if (!ec) fs::create_directories(d, ec);
  if (ec) {
    std::cerr << "lean-lsp-proxy: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  struct stat self_st {};
  ::stat(self.c_str(), &self_st);
  for (const char* tool : {"lake", "lean"}) {
    fs::path link = d / tool;
    struct stat lst {}, st {};
    if (::lstat(link.c_str(), &lst) == 0) {
      // Only our own shims are replaced: overwriting a real `lake` (say in
      // ~/.elan/bin) would leave the shim nothing to run.
      bool ours = S_ISLNK(lst.st_mode) && (is_proxy_shim(link.string()) ||
                                           (::stat(link.c_str(), &st) == 0 && st.st_ino == self_st.st_ino &&
                                            st.st_dev == self_st.st_dev));
      if (!ours) {
        std::cerr << "lean-lsp-proxy: " << link.string() << " exists and is not a lean-lsp-proxy shim; "
                  << "refusing to replace it (choose an empty directory)\n";
        return 1;
      }
    }
    // Atomic replace: a new link beside it, renamed over the old one, so an
    // editor starting `lake` meanwhile never finds it missing.
    std::string tmp_name = ".";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "." + string
    tmp_name.append(tool).append(".tmp-").append(std::to_string(::getpid()));
    fs::path tmp = d / tmp_name;
    fs::remove(tmp, ec);
    fs::create_symlink(self, tmp, ec);
    if (!ec) fs::rename(tmp, link, ec);
    if (ec) {
      fs::remove(tmp, ec);
      std::cerr << "lean-lsp-proxy: cannot write " << link.string() << ": " << ec.message() << "\n";
      return 1;
    }
    std::cout << "installed " << link.string() << " -> " << self << "\n";
  }
  std::cout << "\nPut " << d.string() << " first on PATH for the editor, e.g. in VS Code settings:\n"
            << "  \"lean4.envPathExtensions\": [\"" << d.string() << "\"]\n"
            << "Server starts (`lake serve`, `lean --server`) then run through lean-lsp-proxy; every other\n"
            << "`lake` / `lean` call runs the real tool found later on PATH.\n";
  return 0;
}

int shims_command(int argc, char** argv) {
  // argv: lean-lsp-proxy shims install DIR
  if (argc == 4 && std::string_view(argv[2]) == "install") return shims_install(argv[3]);
  std::cerr << "usage: lean-lsp-proxy shims install DIR\n"
               "  writes DIR/lake and DIR/lean: shims that run server starts through the proxy\n";
  return 2;
}

}  // namespace leanproxy::shims
