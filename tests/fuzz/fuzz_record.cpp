// Fuzzes cache value decoding (cache/record): any bytes read back from the
// store either decode to a record whose payload is valid JSON and whose
// fields agree with the bytes, or are rejected; encode / decode round-trip;
// the backend's reads of a decoded payload (diagnostics, elab_ms, result)
// never crash.
#include <cstring>
#include <ctime>
#include <string>

#include "fuzz_common.hpp"
#include "leanproxy/cache/record.hpp"
#include "leanproxy/protocol/json_scan.hpp"

namespace cache = leanproxy::cache;
namespace json = leanproxy::json;

namespace {

void read_payload(std::string_view payload) {
  // What cache/backend.cpp reads out of a hit.
  if (auto diags = json::member(payload, "diagnostics")) {
    if (json::type_of(*diags) == json::Type::array) {
      json::ArrayReader r(*diags);
      std::string_view d;
      while (r.next(d)) (void)json::path(d, {"range", "start", "line"});
    }
  }
  if (auto elab = json::member(payload, "elab_ms")) (void)json::to_int64(*elab);
  if (auto res = json::member(payload, "result")) FUZZ_CHECK(json::validate(*res), "result member is not JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view b(reinterpret_cast<const char*>(data), size);
  auto rec = cache::decode_record(b);
  auto created = cache::record_created(b);
  bool header_ok = b.size() >= 11 && b.substr(0, 2) == "LP" && static_cast<std::uint8_t>(b[2]) == cache::record_format;
  FUZZ_CHECK(created.has_value() == header_ok, "record_created accepts a bad header or rejects a good one");
  if (rec) {
    FUZZ_CHECK(header_ok, "decoded a record with a bad header");
    FUZZ_CHECK(rec->payload == b.substr(11), "payload is not the bytes after the header");
    FUZZ_CHECK(json::validate(rec->payload), "decoded payload is not valid JSON");
    FUZZ_CHECK(created && *created == rec->created_unix_s, "created time differs from record_created");
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u |= std::uint64_t(static_cast<std::uint8_t>(b[3 + i])) << (8 * i);
    FUZZ_CHECK(static_cast<std::int64_t>(u) == rec->created_unix_s, "created time is not little-endian");
    read_payload(rec->payload);
    // The store then checks the TTL with `now() - created > ttl` (rocksdb_store.cpp,
    // RocksStore::get and TtlFilter): that must not overflow for a decoded record.
    std::int64_t now = static_cast<std::int64_t>(std::time(nullptr)), age = 0;
#ifndef LEANPROXY_FUZZ_SKIP_KNOWN
    FUZZ_CHECK(!__builtin_sub_overflow(now, rec->created_unix_s, &age),
               "decoded creation time " + std::to_string(rec->created_unix_s) + " overflows now - created");
#endif
    (void)now;
    (void)age;
  } else if (header_ok && cache::record_created(b).value_or(-1) >= 0) {
    // (A creation time before 1970 is rejected by design: such a record could never expire.)
    FUZZ_CHECK(!json::validate(b.substr(11)) || b.size() > cache::max_record_bytes,
               "a well-formed record was rejected");
  }

  // Round trip: any creation time, the input as the payload.
  std::int64_t t = 0;
  std::memcpy(&t, data, std::min(size, sizeof t));
  std::string enc = cache::encode_record(t, b);
  auto dec = cache::decode_record(enc);
  FUZZ_CHECK(dec.has_value() == (json::validate(b) && t >= 0),
             "decode(encode(t, payload)) accepts iff the payload is JSON and t is not before 1970");
  if (dec) FUZZ_CHECK(dec->created_unix_s == t && dec->payload == b, "decode(encode(t, payload)) differs");
  FUZZ_CHECK(cache::record_created(enc) == t, "record_created(encode(t, ...)) != t");
  return 0;
}
