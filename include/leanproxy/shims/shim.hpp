// `lake` / `lean` shims: symlinks to this executable that put the proxy in front of server invocations only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leanproxy::shims {

/// Set in the environment of every server the proxy runs (and of the proxy a
/// shim starts). A shim that sees it execs the real tool, so `lake serve`
/// starting `lean --server` through a shim never stacks a second proxy.
inline constexpr const char* active_variable = "LEAN_LSP_PROXY_ACTIVE";

/// True for the calls editors make to start a server: `lake [+tc] serve …`
/// and `lean [+tc] … --server …`. Everything else (builds, `--version`,
/// `lake env`, checking a file) is not.
bool is_server_invocation(std::string_view tool, const std::vector<std::string>& args);

/// The real `name` on `path_list`: the first executable that is not `self`
/// (same inode, which every symlink shim to this binary shares) and not a
/// shim of another lean-lsp-proxy install (resolves to a file named
/// lean-lsp-proxy*). Empty when there is none.
std::string find_real_tool(std::string_view name, std::string_view path_list, const std::string& self);

/// The argv the shim execs: `{real, args…}` (run `real`) for a pass-through,
/// or `{"lean-lsp-proxy", "--", real, args…}` (run this executable) for a server.
std::vector<std::string> shim_exec_argv(const std::string& real, std::string_view tool,
                                        const std::vector<std::string>& args, bool proxy_active);

/// The environment for a server the proxy starts: `base` ("K=V" entries; empty
/// means this process's environ) with LEAN_LSP_PROXY_ACTIVE=1 set.
std::vector<std::string> server_environment(const std::vector<std::string>& base);

/// When argv[0]'s basename is `lake` or `lean`, acts as the shim: execs the
/// real tool or the proxy and returns only on failure (with the exit status,
/// 127, after saying why on stderr). nullopt for any other name.
std::optional<int> run_as_shim(int argc, char** argv);

/// Writes DIR/lake and DIR/lean as symlinks to this executable (absolute
/// path), creating DIR; replaces earlier shims, refuses to overwrite anything
/// else. Returns an exit status and tells the user how to put DIR on PATH.
int shims_install(const std::string& dir);

/// `lean-lsp-proxy shims install DIR` (argv as main's); 2 on bad usage.
int shims_command(int argc, char** argv);

}  // namespace leanproxy::shims
