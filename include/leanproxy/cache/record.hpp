// The byte format of cache values: magic, format version, creation time, then
// a JSON payload. Decoding validates everything, so a bad value is dropped
// and counted, never served.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leanproxy::cache {

inline constexpr std::uint8_t record_format = 1;
inline constexpr std::size_t max_record_bytes = 64u << 20;  // 64 MiB

/// "LP" + format byte + 8-byte little-endian creation time (unix seconds) + payload.
std::string encode_record(std::int64_t created_unix_s, std::string_view json_payload);

struct Record {
  std::int64_t created_unix_s = 0;
  std::string payload;  ///< validated JSON
};

/// nullopt when the bytes are not a record this version wrote, are larger
/// than the cap, or carry invalid JSON.
std::optional<Record> decode_record(std::string_view bytes);

/// Creation time without decoding the payload (for the TTL compaction filter).
std::optional<std::int64_t> record_created(std::string_view bytes);

}  // namespace leanproxy::cache
