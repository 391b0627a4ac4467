// Daemon runtime paths and the private-directory check.
#include "leanproxy/daemon/paths.hpp"

#include "leanproxy/cache/sha256.hpp"
#include "leanproxy/cache/store.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace leanproxy::daemon {

Paths paths(const std::string& cache_dir) {
  Paths p;
  if (const char* o = std::getenv("LEAN_LSP_PROXY_RUNTIME_DIR"); o && *o) {
    p.dir = std::filesystem::absolute(o).lexically_normal().string();
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) {
    p.dir = std::string(x) + "/lean-lsp-proxy";
  } else {
    p.dir = (std::filesystem::temp_directory_path() / ("lean-lsp-proxy-" + std::to_string(::getuid()))).string();
  }
  std::string suffix;
  std::string dir = cache_dir.empty() ? std::string() : std::filesystem::absolute(cache_dir).lexically_normal().string();
  if (!dir.empty() && dir != std::filesystem::absolute(cache::default_cache_dir()).lexically_normal().string())
    suffix = "-" + cache::sha256_hex(dir).substr(0, 12);
  p.socket = p.dir + "/daemon" + suffix + ".sock";
  p.lock = p.dir + "/daemon" + suffix + ".lock";
  p.log = p.dir + "/daemon" + suffix + ".log";
  return p;
}

std::string ensure_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create '" + dir + "': " + ec.message();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return "cannot stat '" + dir + "': " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a directory";
  if (st.st_uid != ::getuid()) return "'" + dir + "' belongs to uid " + std::to_string(st.st_uid) + ", not to us";
  if ((st.st_mode & 0077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    return "'" + dir + "' is accessible to other users and cannot be made private";
  return {};
}

}  // namespace leanproxy::daemon
