// Id namespaces the proxy uses on the wire: its own request ids, and ids of
// server-to-client requests tagged with the server generation that sent them.
// Pure, reversible functions (tag ∘ untag = id), tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "leanproxy/protocol/message.hpp"

namespace leanproxy::protocol {

/// The proxy's own request ids ("llp:17"): strings, so they never collide
/// with an editor's integer ids, and prefixed, so they never collide with the
/// editor's string ids in practice. Replies to them are consumed, never forwarded.
Id own_id(std::uint64_t n);
bool is_own_id(const Id& id);

/// A client request id that would collide with the proxy's namespace (a
/// string starting with "llp:") is forwarded as "llp:c:<raw id>" and restored
/// on the reply. Other ids are forwarded unchanged.
bool needs_escape(const Id& client_id);
Id escape(const Id& client_id);
/// The original id of an escaped one; nullopt for other ids.
std::optional<Id> unescape(const Id& id);

/// A server-originated request id made unique across server generations:
/// generation 3, id 0 → "llp:g3:0"; generation 3, id "register_lean_watcher" →
/// "llp:g3:\"register_lean_watcher\"" (the original raw JSON after the prefix).
Id tag(std::uint64_t generation, const Id& id);
struct Untagged {
  std::uint64_t generation;
  Id id;
};
/// Inverse of tag(); nullopt for ids tag() did not make.
std::optional<Untagged> untag(const Id& id);

}  // namespace leanproxy::protocol
