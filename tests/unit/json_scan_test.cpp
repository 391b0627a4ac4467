// JSON scanner: validation, member lookup, string decoding and encoding.
#include <doctest/doctest.h>

#include <string>

#include "leanproxy/protocol/json_scan.hpp"

namespace json = leanproxy::json;

TEST_CASE("validation accepts JSON and rejects non-JSON") {
  for (const char* ok : {"{}", "[]", "0", "-1.5e+3", "\"a\\u00e9\\n\"", "true", "null", " { \"a\" : [1, {\"b\":null}] } ",
                         "[[[[]]]]", "{\"\":\"\"}"}) {
    CAPTURE(ok);
    CHECK(json::validate(ok));
  }
  for (const char* bad : {"", "{", "}", "{\"a\"}", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "nul",
                          "\"\\x\"", "\"abc", "{} {}", "[1 2]", "{1:2}", "\"\\u12\"", "\"a\nb\""}) {
    CAPTURE(bad);
    CHECK_FALSE(json::validate(bad));
  }
}

TEST_CASE("nesting deeper than the limit is rejected without recursion") {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  CHECK_FALSE(json::validate(deep));
  std::string ok(500, '[');
  ok += std::string(500, ']');
  CHECK(json::validate(ok));
}

TEST_CASE("members are found as raw spans") {
  std::string_view obj = R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"x","params":{"a":[1,2],"t":"⊢"}})";
  CHECK(*json::member(obj, "id") == "18446744073709551615");
  CHECK(*json::member(obj, "params") == R"({"a":[1,2],"t":"⊢"})");
  CHECK(*json::path(obj, {"params", "a"}) == "[1,2]");
  CHECK_FALSE(json::member(obj, "nope"));
  CHECK(*json::member(R"({"\u0069d":7})", "id") == "7");
}

TEST_CASE("enter_path gives path's answer without skipping what follows the value") {
  std::string text(200000, 'x');
  std::string params = R"({"textDocument":{"uri":"file:///a.lean","version":3,"text":")" + text +
                       R"("},"dependencyBuildMode":"never"})";
  for (auto names : {std::initializer_list<std::string_view>{"textDocument", "uri"}, {"textDocument", "version"},
                     {"dependencyBuildMode"}, {"textDocument"}, {"textDocument", "nope"}, {"nope", "uri"}}) {
    auto a = json::path(params, names), b = json::enter_path(params, names);
    REQUIRE(a.has_value() == b.has_value());
    if (a) CHECK(*a == *b);
  }
  CHECK(*json::enter_path(params, {"textDocument", "uri"}) == R"("file:///a.lean")");
  // Escaped keys, whitespace, the first of two equal keys, a non-object on the way.
  std::string_view odd = R"( { "a" : 1 , "td" : { "u" : [1] , "u" : 2 } , "s" : "x" } )";
  CHECK(*json::enter_path(odd, {"td", "u"}) == "[1]");
  CHECK_FALSE(json::enter_path(odd, {"s", "u"}));
  CHECK(json::enter_path(odd, {})->size() == odd.size());
  // What follows the member is not looked at: a document cut after the uri still answers.
  std::string cut = params.substr(0, params.find("\"version\""));
  CHECK(*json::enter_path(cut, {"textDocument", "uri"}) == R"("file:///a.lean")");
  // Truncated or broken input: no answer, and no read past the end.
  std::size_t uri_end = params.find(".lean\"") + 6;  // the uri value complete from here on
  for (std::size_t n = 0; n < uri_end; ++n) {
    auto r = json::enter_path(std::string_view(params).substr(0, n), {"textDocument", "uri"});
    CHECK_FALSE(r);
  }
}

TEST_CASE("decode_scanned_string decodes what the readers validated") {
  for (const char* raw : {R"("a\"b\\c\/\n\t")", R"("\u22a2 \u2115 \ud835\udd3d")", R"("\ud835")", R"("")", R"("plain")"})
    CHECK(*json::decode_scanned_string(raw) == *json::decode_string(raw));
  std::string big = "{\"t\":" + json::quote(std::string(100000, 'y') + "\n⊢") + "}";
  CHECK(*json::decode_scanned_string(*json::member(big, "t")) == std::string(100000, 'y') + "\n⊢");
  // Misuse on a cut escape returns what it has, without reading past the end.
  CHECK(json::decode_scanned_string(R"("ab\u12")")->substr(0, 2) == "ab");
  CHECK_FALSE(json::decode_scanned_string("12"));  // not a string
}

TEST_CASE("strings decode escapes and surrogate pairs") {
  CHECK(*json::decode_string(R"("a\"b\\c\/\n\t")") == "a\"b\\c/\n\t");
  CHECK(*json::decode_string(R"("\u22a2 \u2115 \ud835\udd3d")") == "⊢ ℕ 𝔽");
  CHECK(*json::decode_string(R"("\ud835")") == "\xEF\xBF\xBD");  // lone surrogate → U+FFFD
  CHECK_FALSE(json::decode_string("abc"));
  CHECK_FALSE(json::decode_string(R"("abc)"));
}

TEST_CASE("encoding round-trips through decoding") {
  std::string s = "quote\" back\\ nl\n ctl\x01 ⊢𝔽";
  std::string q = json::quote(s);
  CHECK(json::validate(q));
  CHECK(*json::decode_string(q) == s);
}

TEST_CASE("array reader walks elements") {
  json::ArrayReader r(R"([1, "two", {"three":3}, [4]])");
  std::string_view v;
  int n = 0;
  while (r.next(v)) ++n;
  CHECK(r.ok());
  CHECK(n == 4);
  json::ArrayReader bad("[1,,2]");
  while (bad.next(v)) {
  }
  CHECK_FALSE(bad.ok());
}

TEST_CASE("strings are validated whatever their alignment to the block scan") {
  // A special byte at every offset of a long string: a quote ends it, a
  // control character invalidates it, an escape is decoded.
  for (std::size_t at = 0; at < 40; ++at) {
    std::string plain(at, 'a');
    std::string tail(40, 'b');
    CAPTURE(at);
    CHECK(json::validate("\"" + plain + tail + "\""));
    CHECK_FALSE(json::validate("\"" + plain + '\x01' + tail + "\""));
    CHECK_FALSE(json::validate("\"" + plain + '\x1f' + tail + "\""));
    CHECK(json::validate("\"" + plain + '\x7f' + "\xc3\xa9" + tail + "\""));
    CHECK(json::decode_string("\"" + plain + "\\n" + tail + "\"") == plain + "\n" + tail);
    CHECK_FALSE(json::validate("\"" + plain + "\"" + tail + "\""));
    CHECK_FALSE(json::validate("\"" + plain + tail));  // unterminated
  }
}

TEST_CASE("decoding copies blocks whole: every escape at every offset, back to back, at the very end") {
  // The decoder stores 16 bytes before it looks for a backslash in them;
  // what follows an escape must land where the escape's output ends.
  struct Escape {
    const char* raw;
    const char* decoded;
  };
  const Escape escapes[] = {{"\\n", "\n"},          {"\\\"", "\""},          {"\\\\", "\\"},
                            {"\\/", "/"},           {"\\u00e9", "\xc3\xa9"}, {"\\u2200", "\xe2\x88\x80"},
                            {"\\ud835\\udd3d", "\xf0\x9d\x94\xbd"},  // 𝔽, a surrogate pair
                            {"\\ud800x", "\xef\xbf\xbdx"}};          // a lone high surrogate
  for (const auto& e : escapes) {
    for (std::size_t at = 0; at < 36; ++at) {
      for (std::size_t after : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{33}}) {
        std::string plain(at, 'a'), tail(after, 'b');
        CAPTURE(e.raw);
        CAPTURE(at);
        CAPTURE(after);
        std::string raw = "\"" + plain + e.raw + tail + e.raw + e.raw + "\"";
        REQUIRE(json::validate(raw));
        std::string want = plain + e.decoded + tail + e.decoded + e.decoded;
        CHECK(json::decode_string(raw) == want);
        CHECK(json::decode_scanned_string(raw) == want);
      }
    }
  }
}

TEST_CASE("decode_string_at validates, decodes and finds the end in one pass") {
  std::size_t end = 0;
  std::string s = R"(x"a\"b\\c\/\n\t \u22a2 \ud835\udd3d \ud835",1])";
  auto d = json::decode_string_at(s, 1, end);
  REQUIRE(d);
  CHECK(*d == "a\"b\\c/\n\t ⊢ 𝔽 \xEF\xBF\xBD");
  CHECK(end == s.find(",1]"));
  // Every escape kind and a closing quote at every offset of the 16-byte
  // block, with more after the string: the end is the quote's.
  for (const char* esc : {R"(\n)", R"(\")", R"(\\)", R"(\u2115)", R"(\ud835\udd3d)"})
    for (std::size_t at = 0; at < 40; ++at) {
      CAPTURE(esc);
      CAPTURE(at);
      std::string lit = "\"" + std::string(at, 'a') + esc + std::string(at % 7, 'b') + "\"";
      std::string in = lit + R"(,"more":"x"})";
      auto got = json::decode_string_at(in, 0, end);
      REQUIRE(got);
      CHECK(end == lit.size());
      CHECK(*got == *json::decode_string(lit));
    }
  // Invalid: not at a quote, unterminated, a raw control character, a bad
  // escape, a cut \u, a bad low surrogate; never a read past the end.
  for (std::string bad : {std::string("abc"), std::string(R"("abc)"), std::string("\"a\x01b\""), std::string(R"("a\qb")"),
                          std::string(R"("a\u12)"), std::string(R"("a\u12")"), std::string(R"("a\)"),
                          std::string(R"("a\ud835\uzzzz")"), std::string(40, ' ').insert(0, "\"")}) {
    CAPTURE(bad);
    CHECK_FALSE(json::decode_string_at(bad, 0, end));
  }
  CHECK_FALSE(json::decode_string_at(R"("a")", 3, end));  // past the end
}

TEST_CASE("short strings near the end of the input are validated like any other") {
  // Fewer than 16 bytes left: skip_string's byte loop, then its general case.
  for (std::size_t n = 0; n < 20; ++n) {
    CAPTURE(n);
    std::string a(n, 'a');
    for (const std::string& wrap : {std::string("%"), std::string("{\"k\":%}"), std::string("[1,%]")}) {
      auto in = [&](const std::string& lit) {
        std::string w = wrap;
        return w.replace(w.find('%'), 1, lit);
      };
      CHECK(json::validate(in("\"" + a + "\"")));
      CHECK(json::validate(in("\"" + a + "\\n\"")));
      CHECK(json::validate(in("\"\\u00e9" + a + "\"")));
      CHECK_FALSE(json::validate(in("\"" + a + "\x01\"")));
      CHECK_FALSE(json::validate(in("\"" + a + "\\x\"")));
      CHECK_FALSE(json::validate(in("\"" + a)));
    }
  }
}
