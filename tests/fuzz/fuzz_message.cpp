// Fuzzes protocol::Message::parse and Id: classification agrees with the JSON
// validator, spans are valid JSON, ids survive from_raw / number / string, and
// the rewrites the router does (with_id, with_empty_params) give a message of
// the same kind with the same method, params, result and error.
#include <charconv>
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/protocol/message.hpp"

namespace json = leanproxy::json;
using leanproxy::protocol::Id;
using leanproxy::protocol::Kind;
using leanproxy::protocol::kind_name;
using leanproxy::protocol::Message;

namespace {

void check_id(const Id& id) {
  FUZZ_CHECK(json::validate(id.raw()), "id raw is not JSON: " + fuzz::show(id.raw()));
  auto again = Id::from_raw(id.raw());
  FUZZ_CHECK(again && *again == id && again->raw() == id.raw(), "Id::from_raw(raw()) differs: " + fuzz::show(id.raw()));
  if (id.is_string()) {
    auto s = json::decode_string(id.raw());
    FUZZ_CHECK(s && *s == id.string_value(), "string id value differs from its raw: " + fuzz::show(id.raw()));
    FUZZ_CHECK(Id::string(*s) == id, "Id::string(value) differs: " + fuzz::show(id.raw()));
    FUZZ_CHECK(!(Id::string(*s) == Id::from_raw("0").value()), "a string id equals a number id");
  } else {
    FUZZ_CHECK(id.raw().find_first_of(".eE\"") == std::string::npos, "number id is not an integer: " + id.raw());
    FUZZ_CHECK(id.string_value().empty(), "number id has a string value");
    // integer(): exactly the ids whose digits are a 64-bit value's own spelling.
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(id.raw().data(), id.raw().data() + id.raw().size(), v);
    bool fits = ec == std::errc() && end == id.raw().data() + id.raw().size() && id.raw() != "-0";
    FUZZ_CHECK(id.integer().has_value() == fits && (!fits || *id.integer() == v),
               "integer() disagrees with from_chars: " + id.raw());
    if (auto n = json::to_int64(id.raw()); n && std::to_string(*n) == id.raw())
      FUZZ_CHECK(Id::number(*n) == id, "Id::number differs: " + id.raw());
    // 7 and "7" differ.
    FUZZ_CHECK(!(Id::string(id.raw()) == id), "number id equals the string of its digits: " + id.raw());
  }
}

void check_same(const Message& a, const Message& b, const std::string& what) {
  FUZZ_CHECK(a.kind() == b.kind(), what + ": kind " + kind_name(a.kind()) + " became " + kind_name(b.kind()) + " in " +
                                       fuzz::show(b.raw()));
  FUZZ_CHECK(a.method() == b.method(), what + ": method changed in " + fuzz::show(b.raw()));
  FUZZ_CHECK(a.result() == b.result(), what + ": result changed in " + fuzz::show(b.raw()));
  FUZZ_CHECK(a.error() == b.error(), what + ": error changed in " + fuzz::show(b.raw()));
}

void check_message(std::string_view body, std::string_view new_id) {
  Message m = Message::parse(std::string(body));
  FUZZ_CHECK(m.raw() == body, "raw() is not the body");
  bool valid = json::validate(body);
  FUZZ_CHECK((m.kind() == Kind::parse_error) == !valid,
             std::string("kind ") + kind_name(m.kind()) + " but validate() says " + (valid ? "valid" : "invalid") +
                 " for " + fuzz::show(body));
  if (m.kind() == Kind::parse_error || m.kind() == Kind::invalid) {
    FUZZ_CHECK(!m.problem().empty(), "invalid message without a problem");
    return;
  }
  FUZZ_CHECK(m.problem().empty(), "valid message with a problem: " + m.problem());
  for (auto span : {m.params(), m.result(), m.error()})
    FUZZ_CHECK(span.empty() || json::validate(span), "span is not JSON: " + fuzz::show(span));
  if (m.id()) check_id(*m.id());
  switch (m.kind()) {
    case Kind::request: FUZZ_CHECK(m.id().has_value(), "request without id"); break;
    case Kind::notification: FUZZ_CHECK(!m.id().has_value(), "notification with an id"); break;
    case Kind::response: FUZZ_CHECK(!m.result().empty() || m.is_error(), "response without result or error"); break;
    default: break;
  }

  if (m.kind() == Kind::request || m.kind() == Kind::response) {
    // The router's rewrites: its own / tagged / escaped ids, and the original back.
    std::string ids[] = {"42", "-7", "\"llp:17\"", "\"llp:g3:\\\"register_lean_watcher\\\"\"",
                         "123456789012345678901234567890", json::quote(new_id)};
    for (auto& raw : ids) {
      auto want = Id::from_raw(raw);
      FUZZ_CHECK(want.has_value(), "test id does not parse: " + raw);
      std::string out = m.with_id(raw);
      FUZZ_CHECK(json::validate(out), "with_id gives invalid JSON: " + fuzz::show(out));
      Message r = Message::parse(std::move(out));
      check_same(m, r, "with_id(" + raw + ")");
      FUZZ_CHECK(r.id() && *r.id() == *want, "with_id(" + raw + ") gives another id in " + fuzz::show(r.raw()));
      FUZZ_CHECK(r.params() == m.params(), "with_id: params changed");
      if (m.id()) {
        Message back = Message::parse(r.with_id(m.id()->raw()));
        FUZZ_CHECK(back.raw() == m.raw(), "with_id there and back is not the original: " + fuzz::show(back.raw()));
      }
    }
  }
  if (m.kind() == Kind::notification && !m.has_params()) {
    std::string out = m.with_empty_params();
    FUZZ_CHECK(json::validate(out), "with_empty_params gives invalid JSON: " + fuzz::show(out));
    Message r = Message::parse(std::move(out));
    check_same(m, r, "with_empty_params");
    FUZZ_CHECK(r.has_params() && r.params() == "{}", "with_empty_params: params are " + fuzz::show(r.params()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_message(in, in.substr(0, 16));
  // The same bytes as an id.
  if (auto id = Id::from_raw(in)) check_id(*id);
  check_id(Id::string(in));
  return 0;
}
