// Transitive import closure and its fingerprint.
#include "leanproxy/cache/deps.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "leanproxy/cache/sha256.hpp"
#include "leanproxy/lean/header.hpp"
#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::cache {
namespace {

bool inside(const std::string& path, const std::string& root) {
  if (root.empty()) return false;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

}  // namespace

const std::vector<std::string>* DepFingerprinter::imports_of(const std::string& path, const std::string& sha) {
  auto it = imports_.find(sha);
  if (it != imports_.end()) return &it->second;
  auto text = hasher_.read(path);
  // Changed since it was hashed: the imports must be those of the bytes hashed.
  if (!text || sha256_hex(*text) != sha) return nullptr;
  if (imports_.size() >= 4096) imports_.clear();  // a bound; rebuilt as documents are looked up
  return &imports_.emplace(sha, lean::parse_header(*text).imports).first->second;
}

DepFingerprint DepFingerprinter::fingerprint(const std::vector<std::string>& imports) {
  DepFingerprint out;
  std::map<std::string, std::string> identity;  // module → what it contributes; ordered = canonical
  std::set<std::string> seen;
  std::deque<std::string> todo(imports.begin(), imports.end());
  while (!todo.empty()) {
    std::string mod = std::move(todo.front());
    todo.pop_front();
    if (!seen.insert(mod).second) continue;
    std::string rel = lean::module_to_path(mod);

    std::string olean_dir;
    for (const auto& dir : path_.lean_path)
      if (hasher_.exists(dir + "/" + rel + ".olean")) { olean_dir = dir; break; }
    if (olean_dir.empty()) {
      out.reason = "unresolved import " + mod;
      return out;
    }
    bool toolchain = std::find(path_.toolchain_lib.begin(), path_.toolchain_lib.end(), olean_dir) !=
                     path_.toolchain_lib.end();
    std::string id;
    if (toolchain) {
      id = "toolchain";
    } else {
      std::string base = olean_dir + "/" + rel;
      if (auto trace = hasher_.read(base + ".trace")) {
        auto dep = json::validate(*trace) ? json::member(*trace, "depHash") : std::nullopt;
        id = dep ? "depHash " + std::string(*dep) : "trace " + sha256_hex(*trace);  // old Lake: a bare hash
      } else if (auto h = hasher_.hash(base + ".olean")) {
        id = "olean " + *h;
      } else {
        out.reason = "unreadable build artifact for " + mod;
        return out;
      }
      // A source inside the workspace: its current text counts, and so do its
      // imports. Its hash is memoised by its stat (as the traces are), and
      // its imports by that hash: a lookup reads no unchanged source again.
      for (const auto& dir : path_.src_path) {
        std::string src = dir + "/" + rel + ".lean";
        if (!inside(src, path_.workspace_root)) continue;
        auto sha = hasher_.hash(src);
        if (!sha) {
          if (!hasher_.exists(src)) continue;
          out.reason = "unreadable source of " + mod;  // what it imports is unknown
          return out;
        }
        id += " src " + *sha;
        const std::vector<std::string>* imports = imports_of(src, *sha);
        if (!imports) {
          out.reason = "source of " + mod + " changed while it was read";
          return out;
        }
        for (const auto& imp : *imports) todo.push_back(imp);
        break;
      }
    }
    identity[mod] = std::move(id);
  }
  Sha256 h;
  for (auto& [mod, id] : identity) {
    h.field(mod).field(id);
    out.modules.push_back(mod);
  }
  out.digest = h.hex_digest();
  out.cacheable = true;
  return out;
}

}  // namespace leanproxy::cache
