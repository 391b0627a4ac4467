// Fuzzes the JSON scanner (protocol/json_scan): validate() agrees with a
// reference parser (nlohmann, on valid UTF-8 within the depth limit) and with
// a byte-by-byte string checker (for the eight-bytes-at-a-time fast path);
// decode_string / quote round-trip; the readers and member lookups agree
// with skip_value and never crash on invalid input.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "leanproxy/protocol/json_scan.hpp"

#ifdef LEANPROXY_FUZZ_NLOHMANN
#include <nlohmann/json.hpp>
#endif

namespace json = leanproxy::json;

namespace {

// A byte-at-a-time string literal check (RFC 8259, bytes >= 0x20 passed through).
bool naive_string(std::string_view s) {
  if (s.size() < 2 || s[0] != '"') return false;
  std::size_t i = 1;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1 == s.size();
    if (c < 0x20) return false;
    if (c == '\\') {
      if (i + 1 >= s.size()) return false;
      char e = s[i + 1];
      if (e == 'u') {
        if (i + 6 > s.size()) return false;
        for (std::size_t k = i + 2; k < i + 6; ++k)
          if (!std::isxdigit(static_cast<unsigned char>(s[k]))) return false;
        i += 6;
        continue;
      }
      if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
      i += 2;
      continue;
    }
    ++i;
  }
  return false;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

std::size_t max_nesting(std::string_view s) {
  std::size_t depth = 0, max = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') in_string = true;
    else if (c == '[' || c == '{') max = std::max(max, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return max;
}

void check_readers(std::string_view s) {
  // Object members: every key decodes, every value validates, member() finds
  // the first one; ok() only when the object ends where skip_value says.
  json::ObjectReader r(s);
  std::string_view k, v;
  std::vector<std::pair<std::string, std::string_view>> members;
  while (r.next(k, v)) {
    auto key = json::decode_string(k);
    FUZZ_CHECK(key.has_value(), "object key does not decode: " + fuzz::show(k));
    FUZZ_CHECK(json::validate(v), "member value is not JSON: " + fuzz::show(v));
    FUZZ_CHECK(json::key_is(k, *key), "key_is(raw, decoded) is false: " + fuzz::show(k));
    members.emplace_back(std::move(*key), v);
  }
  std::size_t end = json::skip_value(s, 0);
  if (json::type_of(s) == json::Type::object) {
    FUZZ_CHECK(r.ok() == (end != std::string_view::npos), "ObjectReader and skip_value disagree on " + fuzz::show(s));
    if (r.ok()) FUZZ_CHECK(r.end() == end, "ObjectReader ends elsewhere than skip_value");
    if (r.ok())
      for (auto& [name, value] : members) {
        auto found = json::member(s, name);
        FUZZ_CHECK(found.has_value(), "member() misses " + fuzz::show(name));
        FUZZ_CHECK(json::validate(*found), "member() value is not JSON");
      }
  }
  json::ArrayReader a(s);
  std::string_view e;
  while (a.next(e)) FUZZ_CHECK(json::validate(e), "array element is not JSON: " + fuzz::show(e));
  if (json::type_of(s) == json::Type::array)
    FUZZ_CHECK(a.ok() == (end != std::string_view::npos), "ArrayReader and skip_value disagree on " + fuzz::show(s));
  // enter_path answers as path on valid JSON, and never reads past the end otherwise.
  auto by_path = json::path(s, {"textDocument", "uri"});
  auto entered = json::enter_path(s, {"textDocument", "uri"});
  if (json::validate(s)) {
    FUZZ_CHECK(by_path.has_value() == entered.has_value() && (!by_path || *by_path == *entered),
               "enter_path and path disagree on " + fuzz::show(s));
    if (entered && json::type_of(*entered) == json::Type::string)
      FUZZ_CHECK(*json::decode_scanned_string(*entered) == *json::decode_string(*entered),
                 "decode_scanned_string and decode_string disagree on " + fuzz::show(*entered));
  }
  (void)json::to_int64(s);
  (void)json::to_bool(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  bool valid = json::validate(s);
  std::size_t end = json::skip_value(s, 0);
  FUZZ_CHECK(valid == (end != std::string_view::npos && json::skip_ws(s, end) == s.size()),
             "validate() and skip_value() disagree");
  if (valid) FUZZ_CHECK(json::type_of(s) != json::Type::invalid, "valid JSON of invalid type");

#ifdef LEANPROXY_FUZZ_NLOHMANN
  // nlohmann skips a UTF-8 BOM, takes a NUL byte for the end of input and
  // rejects invalid UTF-8; the scanner caps nesting.
  if (valid_utf8(s) && max_nesting(s) < json::max_depth && s.substr(0, 3) != "\xEF\xBB\xBF" &&
      s.find('\0') == std::string_view::npos) {
    bool ref = nlohmann::json::accept(s.begin(), s.end());
    if (valid && !ref) {
      // RFC 8259 allows lone surrogate escapes (the scanner decodes them to
      // U+FFFD, as documented); nlohmann rejects them. Not a disagreement.
      try {
        (void)nlohmann::json::parse(s.begin(), s.end());
      } catch (const nlohmann::json::parse_error& e) {
        if (std::string_view(e.what()).find("surrogate") != std::string_view::npos) ref = true;
      } catch (const nlohmann::json::out_of_range&) {
        ref = true;  // a number beyond double's range: valid JSON, nlohmann refuses it
      }
    }
    FUZZ_CHECK(valid == ref, std::string("validate() says ") + (valid ? "valid" : "invalid") +
                                 ", nlohmann disagrees: " + fuzz::show(s));
    if (valid && nlohmann::json::accept(s.begin(), s.end()) && json::type_of(s) == json::Type::string) {
      auto d = json::decode_string(s.substr(json::skip_ws(s, 0), end - json::skip_ws(s, 0)));
      FUZZ_CHECK(d && *d == nlohmann::json::parse(s.begin(), s.end()).get<std::string>(), "decode_string differs from nlohmann");
    }
  }
#else
  (void)valid_utf8;
  (void)max_nesting;
#endif

  // Strings: the fast path agrees with the byte-by-byte check.
  // decode_string_at: the scanner's end, and the same text as decoding after it.
  if (!s.empty() && s[0] == '"') {
    std::size_t end = 0;
    auto at = json::decode_string_at(s, 0, end);
    std::size_t skip = json::skip_value(s, 0);
    FUZZ_CHECK(at.has_value() == (skip != std::string_view::npos), "decode_string_at and skip_value disagree on " + fuzz::show(s));
    if (at) {
      FUZZ_CHECK(end == skip, "decode_string_at ends elsewhere than skip_value on " + fuzz::show(s));
      FUZZ_CHECK(*at == *json::decode_scanned_string(s.substr(0, end)), "decode_string_at decodes differently: " + fuzz::show(s));
    }
  }
  auto decoded = json::decode_string(s);
  FUZZ_CHECK(decoded.has_value() == naive_string(s), "decode_string and the naive check disagree on " + fuzz::show(s));
  if (decoded) {
    FUZZ_CHECK(valid && json::type_of(s) == json::Type::string, "a decodable string that does not validate");
    std::string q = json::quote(*decoded);
    FUZZ_CHECK(json::validate(q), "quote(decode(s)) is not JSON");
    auto again = json::decode_string(q);
    FUZZ_CHECK(again && *again == *decoded, "decode(quote(decode(s))) != decode(s)");
  }
  // Any bytes survive quote / decode unchanged (invalid UTF-8 passes through).
  std::string q = json::quote(s);
  FUZZ_CHECK(json::validate(q) && json::type_of(q) == json::Type::string, "quote() is not a JSON string: " + fuzz::show(q));
  auto back = json::decode_string(q);
  FUZZ_CHECK(back && *back == s, "decode_string(quote(s)) != s for " + fuzz::show(s));

  check_readers(s);
  return 0;
}
