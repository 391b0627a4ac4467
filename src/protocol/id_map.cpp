// Own and tagged ids.
#include "leanproxy/protocol/id_map.hpp"

#include <charconv>

namespace leanproxy::protocol {
namespace {
constexpr std::string_view kOwn = "llp:";
constexpr std::string_view kTag = "llp:g";
}  // namespace

Id own_id(std::uint64_t n) { return Id::string(std::string(kOwn) + std::to_string(n)); }

bool is_own_id(const Id& id) {
  if (!id.is_string()) return false;
  auto s = id.string_value();
  if (s.substr(0, kOwn.size()) != kOwn) return false;
  s.remove_prefix(kOwn.size());
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool needs_escape(const Id& id) { return id.is_string() && id.string_value().substr(0, kOwn.size()) == kOwn; }

Id escape(const Id& id) { return Id::string(std::string(kOwn) + "c:" + id.raw()); }

std::optional<Id> unescape(const Id& id) {
  if (!id.is_string()) return std::nullopt;
  auto s = id.string_value();
  constexpr std::string_view prefix = "llp:c:";
  if (s.substr(0, prefix.size()) != prefix) return std::nullopt;
  return Id::from_raw(s.substr(prefix.size()));
}

Id tag(std::uint64_t generation, const Id& id) {
  return Id::string(std::string(kTag) + std::to_string(generation) + ":" + id.raw());
}

std::optional<Untagged> untag(const Id& id) {
  if (!id.is_string()) return std::nullopt;
  auto s = id.string_value();
  if (s.substr(0, kTag.size()) != kTag) return std::nullopt;
  s.remove_prefix(kTag.size());
  std::uint64_t gen = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), gen);
  if (ec != std::errc() || p == s.data() || p == s.data() + s.size() || *p != ':') return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()) + 1);
  auto inner = Id::from_raw(s);
  if (!inner) return std::nullopt;
  return Untagged{gen, *inner};
}

}  // namespace leanproxy::protocol
