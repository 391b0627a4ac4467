// Key derivation.
#include "leanproxy/cache/key.hpp"

#include "leanproxy/cache/sha256.hpp"

namespace leanproxy::cache {

Key derive_key(const ServerIdentity& s, const DocumentIdentity& d) {
  const std::pair<const char*, const std::string*> parts[] = {
      {"lean_version", &s.lean_version}, {"lean_path", &s.lean_path},           {"toolchain_file", &s.toolchain_file},
      {"workspace_root", &s.workspace_root}, {"lake_config", &s.lake_config},   {"server_command", &s.server_command},
      {"client_flags", &s.client_flags}, {"uri", &d.uri},                       {"build_mode", &d.build_mode},
      {"text", &d.text},                 {"deps", &d.deps},
  };
  Key k;
  Sha256 all;
  all.field("lean-lsp-proxy key").field(std::to_string(key_schema));
  for (auto& [name, value] : parts) {
    std::string digest = sha256_hex(*value);
    all.field(name).field(digest);
    k.components.emplace_back(name, std::move(digest));
  }
  k.digest = all.hex_digest();
  return k;
}

std::vector<std::string> differing_components(const Key& a, const Key& b) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a.components.size() && i < b.components.size(); ++i)
    if (a.components[i] != b.components[i]) out.push_back(a.components[i].first);
  return out;
}

}  // namespace leanproxy::cache
