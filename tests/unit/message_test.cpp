// Message classification, id handling and builders; id tagging round-trips.
#include <doctest/doctest.h>

#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/protocol/message.hpp"

using namespace leanproxy::protocol;

TEST_CASE("messages are classified") {
  auto req = Message::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})");
  CHECK(req.kind() == Kind::request);
  CHECK(req.method() == "initialize");
  CHECK(req.id()->raw() == "1");
  auto note = Message::parse(R"({"jsonrpc":"2.0","method":"initialized","params":{}})");
  CHECK(note.kind() == Kind::notification);
  auto resp = Message::parse(R"({"jsonrpc":"2.0","id":"register_lean_watcher","result":null})");
  CHECK(resp.kind() == Kind::response);
  CHECK(resp.id()->is_string());
  CHECK(resp.result() == "null");
  auto err = Message::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  CHECK(err.kind() == Kind::response);
  CHECK_FALSE(err.id());
}

TEST_CASE("bad messages are classified, never thrown") {
  CHECK(Message::parse("{nope").kind() == Kind::parse_error);
  CHECK(Message::parse("").kind() == Kind::parse_error);
  CHECK(Message::parse("[1,2]").kind() == Kind::invalid);
  CHECK(Message::parse("42").kind() == Kind::invalid);
  CHECK(Message::parse(R"({"jsonrpc":"2.0"})").kind() == Kind::invalid);
  CHECK(Message::parse(R"({"id":1.5,"method":"x"})").kind() == Kind::invalid);
  CHECK(Message::parse(R"({"id":{},"method":"x"})").kind() == Kind::invalid);
  CHECK(Message::parse(R"({"id":1,"method":"x"} trailing)").kind() == Kind::parse_error);
}

TEST_CASE("64-bit and larger integer ids keep every digit") {
  auto m = Message::parse(R"({"id":18446744073709551615,"method":"m"})");
  CHECK(m.id()->raw() == "18446744073709551615");
  auto big = Message::parse(R"({"id":123456789012345678901234567890,"method":"m"})");
  CHECK(big.id()->raw() == "123456789012345678901234567890");
  auto reply = make_result(big.id()->raw(), "null");
  CHECK(Message::parse(reply).id()->raw() == "123456789012345678901234567890");
}

TEST_CASE("ids compare by JSON value") {
  CHECK(*Id::from_raw("7") == *Id::from_raw("7"));
  CHECK_FALSE(*Id::from_raw("7") == *Id::from_raw("\"7\""));
  CHECK(*Id::from_raw(R"("\u0061")") == *Id::from_raw(R"("a")"));
}

TEST_CASE("an id spelt with whitespace around it is the value alone") {
  // The fuzzer's find: "\r\"\"" was read as the string of one quote.
  auto empty = Id::from_raw("\r\"\"");
  REQUIRE(empty);
  CHECK(empty->raw() == "\"\"");
  CHECK(empty->string_value().empty());
  CHECK(*Id::from_raw(" 7\n") == *Id::from_raw("7"));
  CHECK(Id::from_raw(" 7\n")->raw() == "7");
  CHECK_FALSE(Id::from_raw("  "));
}

TEST_CASE("original bytes are kept, edits touch only what they change") {
  std::string raw = "{ \"id\" : 5 , \"method\":\"x\", \"params\":{\"bad\":\"\xff\xfe\"} }";
  auto m = Message::parse(raw);
  REQUIRE(m.kind() == Kind::request);  // invalid UTF-8 inside a string is not our business
  CHECK(m.raw() == raw);
  auto retagged = m.with_id("\"llp:1\"");
  CHECK(retagged == "{ \"id\" : \"llp:1\" , \"method\":\"x\", \"params\":{\"bad\":\"\xff\xfe\"} }");
  auto note = Message::parse(R"({"jsonrpc":"2.0","method":"initialized"})");
  auto fixed = Message::parse(note.with_empty_params());
  CHECK(fixed.kind() == Kind::notification);
  CHECK(fixed.params() == "{}");
}

TEST_CASE("builders produce valid JSON-RPC") {
  auto e = Message::parse(make_error("null", error_code::parse_error, "bad \"json\""));
  CHECK(e.kind() == Kind::response);
  CHECK(*leanproxy::json::path(e.raw(), {"error", "code"}) == "-32700");
  auto r = Message::parse(make_request("\"llp:3\"", "shutdown", ""));
  CHECK(r.kind() == Kind::request);
  CHECK_FALSE(r.has_params());
  auto l = Message::parse(make_log_message(2, "hello"));
  CHECK(l.method() == "window/logMessage");
}

TEST_CASE("own ids and generation tags") {
  CHECK(is_own_id(own_id(17)));
  CHECK(own_id(17).raw() == "\"llp:17\"");
  CHECK_FALSE(is_own_id(Id::number(17)));
  CHECK_FALSE(is_own_id(Id::string("llp:g2:0")));
  for (auto id : {Id::number(0), Id::number(-3), Id::string("register_lean_watcher"), Id::string("llp:g1:9"),
                  *Id::from_raw("18446744073709551615")}) {
    auto t = tag(3, id);
    auto u = untag(t);
    REQUIRE(u);
    CHECK(u->generation == 3);
    CHECK(u->id == id);
    CHECK(u->id.raw() == id.raw());
  }
  CHECK_FALSE(untag(Id::number(1)));
  CHECK_FALSE(untag(Id::string("llp:gx:1")));
  CHECK_FALSE(untag(Id::string("llp:g1:")));
}

TEST_CASE("client ids in the proxy's namespace round-trip through escaping") {
  for (auto raw : {R"("llp:0")", R"("llp:c:\"x\"")", R"("llp:g1:2")"}) {
    auto id = *Id::from_raw(raw);
    REQUIRE(needs_escape(id));
    auto e = escape(id);
    CHECK_FALSE(is_own_id(e));
    CHECK_FALSE(untag(e));
    REQUIRE(unescape(e));
    CHECK(*unescape(e) == id);
  }
  CHECK_FALSE(needs_escape(Id::number(3)));
  CHECK_FALSE(needs_escape(Id::string("abc")));
}

TEST_CASE("members are found by key value: escaped keys and methods, whitespace, duplicates") {
  // The key dispatch compares unescaped keys directly; an escaped key is
  // decoded first, so both spellings mean the same member.
  auto m = Message::parse(R"({"\u0069d":7,"m\u0065thod":"text\u0044ocument/hover","params":{"a":1}})");
  CHECK(m.kind() == Kind::request);
  CHECK(m.id()->raw() == "7");
  CHECK(m.method() == "textDocument/hover");
  CHECK(m.params() == R"({"a":1})");
  auto spaced = Message::parse(" {\t\"id\" :\r\n\"x\" , \"result\" : [ 1 , 2 ] }\n");
  CHECK(spaced.kind() == Kind::response);
  CHECK(spaced.id()->string_value() == "x");
  CHECK(spaced.result() == "[ 1 , 2 ]");
  // Near-misses are other members.
  auto near = Message::parse(R"({"ids":1,"methods":"x","param":{},"results":1,"errors":1,"jsonrpc2":1})");
  CHECK(near.kind() == Kind::invalid);
  // A later null id does not undo an earlier one; a later non-string method neither.
  auto dup = Message::parse(R"({"id":3,"id":null,"method":"a","method":5})");
  CHECK(dup.kind() == Kind::request);
  CHECK(dup.id()->raw() == "3");
  CHECK(dup.method() == "a");
  CHECK(Message::parse(R"({"method":7})").kind() == Kind::invalid);
}

TEST_CASE("a message's id equals the same id read on its own") {
  for (const char* raw : {"0", "-0", "42", "-17", "18446744073709551615", R"("a")", R"("\u0061")", R"("llp:3")", R"("")"}) {
    auto m = Message::parse(std::string(R"({"id":)") + raw + R"(,"method":"m"})");
    REQUIRE(m.id());
    auto alone = Id::from_raw(raw);
    REQUIRE(alone);
    CHECK(*m.id() == *alone);
    CHECK(m.id()->key() == alone->key());
    CHECK(m.id()->raw() == raw);
  }
  CHECK_FALSE(Id::from_raw("-0") == Id::from_raw("0"));  // digits as sent, as before
}

TEST_CASE("take_method moves the method out of a consumed message") {
  auto m = Message::parse(R"({"id":1,"method":"textDocument/hover","params":{}})");
  std::string raw = m.raw();
  std::string body = std::move(m).take_raw();
  CHECK(body == raw);
  CHECK(std::move(m).take_method() == "textDocument/hover");
}
