// Key derivation.
#include "leanproxy/cache/key.hpp"

#include "leanproxy/cache/sha256.hpp"

namespace leanproxy::cache {

Key derive_key(const ServerIdentity& s, const DocumentIdentity& d) {
  struct Part {
    const char* name;
    std::string_view value;
    std::string_view digest = {};  ///< known already; empty: hashed here
  };
  const Part parts[] = {
      {"lean_version", s.lean_version}, {"lean_path", s.lean_path},         {"toolchain_file", s.toolchain_file},
      {"workspace_root", s.workspace_root}, {"lake_config", s.lake_config}, {"server_command", s.server_command},
      {"client_flags", s.client_flags}, {"uri", d.uri},                     {"build_mode", d.build_mode},
      {"text", d.text, d.text_sha256},  {"deps", d.deps},
  };
  Key k;
  Sha256 all;
  all.field("lean-lsp-proxy key").field(std::to_string(key_schema));
  for (const auto& p : parts) {
    std::string digest = p.digest.empty() ? sha256_hex(p.value) : std::string(p.digest);
    all.field(p.name).field(digest);
    k.components.emplace_back(p.name, std::move(digest));
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
