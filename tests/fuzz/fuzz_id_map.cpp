// Fuzzes the id namespaces of protocol/id_map: for any client id, what goes on
// the wire never collides with the proxy's own ids or tagged server ids, and
// escape / unescape and tag / untag are exact inverses. Arbitrary ids (say, a
// reply to an id the proxy never sent) must not crash untag / unescape.
#include <cstring>
#include <string>

#include "fuzz_common.hpp"
#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/protocol/json_scan.hpp"

namespace json = leanproxy::json;
namespace p = leanproxy::protocol;
using p::Id;

namespace {

void check_client_id(const Id& id, std::uint64_t gen, std::uint64_t n) {
  const std::string what = " for id " + fuzz::show(id.raw());
  // A client id that could be taken for one of ours is escaped, and only those.
  if (p::is_own_id(id) || p::untag(id) || p::unescape(id))
    FUZZ_CHECK(p::needs_escape(id), "an id in the proxy's namespace is not escaped" + what);
  Id wire = p::needs_escape(id) ? p::escape(id) : id;
  FUZZ_CHECK(json::validate(wire.raw()), "wire id is not JSON" + what);
  FUZZ_CHECK(!p::is_own_id(wire), "wire id collides with the proxy's own ids" + what);
  FUZZ_CHECK(!p::untag(wire), "wire id collides with tagged server ids" + what);
  FUZZ_CHECK(!(wire == p::own_id(n)), "wire id equals own_id" + what);
  if (p::needs_escape(id)) {
    auto back = p::unescape(wire);
    FUZZ_CHECK(back && *back == id && back->raw() == id.raw(), "unescape(escape(id)) != id" + what);
  } else {
    FUZZ_CHECK(!p::unescape(wire), "an unescaped id unescapes" + what);
  }

  // Server-originated requests: tag / untag.
  Id t = p::tag(gen, id);
  FUZZ_CHECK(json::validate(t.raw()) && t.is_string(), "tagged id is not a JSON string" + what);
  FUZZ_CHECK(!p::is_own_id(t) && !p::unescape(t), "tagged id collides with own or escaped ids" + what);
  auto u = p::untag(t);
  FUZZ_CHECK(u && u->generation == gen && u->id == id && u->id.raw() == id.raw(),
             "untag(tag(" + std::to_string(gen) + ", id)) != id" + what);

  Id own = p::own_id(n);
  FUZZ_CHECK(p::is_own_id(own) && !p::untag(own) && !p::unescape(own), "own_id(" + std::to_string(n) + ") misjudged");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::Rng rng(fuzz::hash(in));
  std::uint64_t gen = rng.coin() ? rng.below(10) : rng.next();
  std::uint64_t n = rng.coin() ? rng.below(1000) : rng.next();

  // The input as an id's raw JSON, as a string id, and (8 bytes) as a number.
  if (auto id = Id::from_raw(in)) {
    check_client_id(*id, gen, n);
    // As a reply's id: untag / unescape must cope with anything.
    if (auto u = p::untag(*id)) FUZZ_CHECK(json::validate(u->id.raw()), "untag gives a non-JSON id");
    if (auto e = p::unescape(*id)) FUZZ_CHECK(json::validate(e->raw()), "unescape gives a non-JSON id");
  }
  Id s = Id::string(in);
  check_client_id(s, gen, n);
  if (auto u = p::untag(s)) FUZZ_CHECK(json::validate(u->id.raw()), "untag gives a non-JSON id");
  if (auto e = p::unescape(s)) FUZZ_CHECK(json::validate(e->raw()), "unescape gives a non-JSON id");
  std::int64_t v = 0;
  std::memcpy(&v, data, std::min(size, sizeof v));
  check_client_id(Id::number(v), gen, n);
  return 0;
}
