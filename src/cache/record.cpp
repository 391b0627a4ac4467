// Cache value encoding and validation.
#include "leanproxy/cache/record.hpp"

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::cache {

namespace {
constexpr std::size_t kHeader = 2 + 1 + 8;
}

std::string encode_record(std::int64_t created, std::string_view payload) {
  std::string out;
  out.reserve(kHeader + payload.size());
  out += "LP";
  out.push_back(static_cast<char>(record_format));
  auto u = static_cast<std::uint64_t>(created);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  out.append(payload);
  return out;
}

std::optional<std::int64_t> record_created(std::string_view b) {
  if (b.size() < kHeader || b[0] != 'L' || b[1] != 'P' || static_cast<std::uint8_t>(b[2]) != record_format)
    return std::nullopt;
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(b[3 + i])) << (8 * i);
  return static_cast<std::int64_t>(u);
}

std::optional<Record> decode_record(std::string_view b) {
  if (b.size() > max_record_bytes) return std::nullopt;
  auto created = record_created(b);
  if (!created || *created < 0) return std::nullopt;  // we never wrote a time before 1970
  std::string_view payload = b.substr(kHeader);
  if (!json::validate(payload)) return std::nullopt;
  return Record{*created, std::string(payload)};
}

}  // namespace leanproxy::cache
