// Where the per-user daemon lives: a private 0700 directory holding its socket
// (0600), its start lock and its log.
#pragma once

#include <string>

namespace leanproxy::daemon {

struct Paths {
  std::string dir;     ///< $XDG_RUNTIME_DIR/lean-lsp-proxy, else <tmp>/lean-lsp-proxy-<uid>
  std::string socket;  ///< dir/daemon.sock, or dir/daemon-<hash of the cache dir>.sock
  std::string lock;    ///< dir/daemon.lock (serialises starting a daemon)
  std::string log;     ///< dir/daemon.log (the detached daemon's log)
};

/// The paths for this user and cache directory: a daemon owns one cache
/// store, so a non-default --cache-dir gets a daemon (and socket) of its own.
/// LEAN_LSP_PROXY_RUNTIME_DIR overrides the directory.
Paths paths(const std::string& cache_dir = {});

/// Creates `dir` (0700) if needed and checks that it is ours and private; an
/// empty result means fine, else the problem (another user's directory, or
/// one others can write to, is refused: they could plant a socket).
std::string ensure_private_dir(const std::string& dir);

}  // namespace leanproxy::daemon
