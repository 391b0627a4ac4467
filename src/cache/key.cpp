// Key derivation.
#include "leanproxy/cache/key.hpp"

#include <array>

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
  // Most parts repeat from one key to the next (the server's identity, the
  // uri of a reopen): each part's last value and digest are kept per thread,
  // so a repeat costs a comparison instead of a digest (~1 µs each). Large
  // values (a text without its digest) are not kept.
  constexpr std::size_t n = sizeof parts / sizeof parts[0];
  thread_local std::array<std::pair<std::string, std::string>, n> last;
  Key k;
  Sha256 all;
  all.field("lean-lsp-proxy key").field(std::to_string(key_schema));
  for (std::size_t i = 0; i < n; ++i) {
    const Part& p = parts[i];
    std::string digest;
    if (!p.digest.empty()) {
      digest = p.digest;
    } else if (last[i].first == p.value && !last[i].second.empty()) {
      digest = last[i].second;
    } else {
      digest = sha256_hex(p.value);
      if (p.value.size() <= (64u << 10)) last[i] = {std::string(p.value), digest};
    }
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
