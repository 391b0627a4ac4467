// The dependency fingerprint of a document: every module of its transitive
// import closure, resolved through the server's own search path.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "leanproxy/cache/file_hash.hpp"

namespace leanproxy::cache {

/// Where the server finds modules, as `lake env` reports it.
struct SearchPath {
  std::vector<std::string> lean_path;      ///< LEAN_PATH: directories of .olean files
  std::vector<std::string> src_path;       ///< LEAN_SRC_PATH: directories of .lean sources
  std::string workspace_root;              ///< absolute; sources below it are hashed too
  std::vector<std::string> toolchain_lib;  ///< the toolchain's own lib dirs (Init, Std, Lean)
};

struct DepFingerprint {
  bool cacheable = false;
  std::string reason;  ///< why not cacheable, e.g. "unresolved import Foo.Bar"
  std::string digest;  ///< SHA-256 over every module's identity, in a canonical order
  std::vector<std::string> modules;  ///< the closure, for explain
};

/// Per module of the closure:
///  - in a toolchain lib dir: covered by the toolchain identity (already in
///    the key), nothing to hash;
///  - otherwise its Lake `.trace` `depHash` (transitive: Lake mixes in the
///    imports' traces), or, without a trace, the `.olean` bytes;
///  - and, for a module whose source lies inside the workspace, the source's
///    hash, with its own imports followed: an import edited but not rebuilt
///    must change the key, at any depth.
/// An import found nowhere makes the document uncacheable, never guessed.
/// One thread at a time (the cache backend's worker owns it).
class DepFingerprinter {
 public:
  explicit DepFingerprinter(SearchPath path) : path_(std::move(path)) {}
  DepFingerprint fingerprint(const std::vector<std::string>& imports);
  const SearchPath& search_path() const { return path_; }
  FileHasher& hasher() { return hasher_; }

 private:
  /// The imports of the source at `path` whose bytes hash to `sha`, memoised
  /// by that hash; null when the file no longer has those bytes.
  const std::vector<std::string>* imports_of(const std::string& path, const std::string& sha);

  SearchPath path_;
  FileHasher hasher_;
  std::unordered_map<std::string, std::vector<std::string>> imports_;  ///< source SHA-256 → its imports
};

}  // namespace leanproxy::cache
