// The cache key of a document version: a versioned SHA-256 over everything
// Lean's answer depends on, with each component's own digest kept so that a
// miss can be explained.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leanproxy::cache {

/// Bump when the key's definition changes: old entries then never match.
inline constexpr int key_schema = 1;

/// Server-level components: fixed for one server's life, re-read at every start.
struct ServerIdentity {
  std::string lean_version;    ///< `lean --version` of the server actually run
  std::string lean_path;       ///< absolute path of that `lean`
  std::string toolchain_file;  ///< the workspace's lean-toolchain text
  std::string workspace_root;  ///< absolute (messages contain absolute paths)
  std::string lake_config;     ///< lakefile.lean / lakefile.toml + lake-manifest.json contents
  std::string server_command;  ///< argv, NUL-separated
  std::string client_flags;    ///< silentDiagnosticSupport / incrementalDiagnosticSupport / hasWidgets
};

/// Document-level components (views: the key is derived at once).
struct DocumentIdentity {
  std::string_view uri;
  std::string_view build_mode;   ///< dependencyBuildMode ("always" when absent)
  std::string_view text;         ///< after CRLF → LF
  std::string_view deps;         ///< DepFingerprint::digest
  std::string_view text_sha256;  ///< hex SHA-256 of `text` if already known; empty: hashed here
};

struct Key {
  std::string digest;  ///< hex SHA-256: the RocksDB key
  /// (component name, hex digest of its value), in key order; for explain.
  std::vector<std::pair<std::string, std::string>> components;
};

Key derive_key(const ServerIdentity& server, const DocumentIdentity& doc);

/// Names of the components whose digests differ between `a` and `b`.
std::vector<std::string> differing_components(const Key& a, const Key& b);

}  // namespace leanproxy::cache
