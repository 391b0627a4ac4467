// Iterative JSON validation and member lookup over raw bytes.
#include "leanproxy/protocol/json_scan.hpp"

#include <charconv>
#include <cstring>
#include <string>

#include "json_scan_inline.hpp"

namespace leanproxy::json {

namespace scan {
namespace {

inline int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True if any byte of `w` is '"', '\\' or a control character (< 0x20):
// the classic "has zero byte" trick on w ^ '"', w ^ '\\' and w - 0x20.
inline bool has_special(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  std::uint64_t q = w ^ (ones * '"');
  std::uint64_t b = w ^ (ones * '\\');
  std::uint64_t any = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
  return (any & highs) != 0;
}

// Advances `p` over plain string bytes (anything but '"', '\\' and control
// characters), a block at a time; stops at the first special byte or when
// fewer than a block's bytes remain. SSE2 is part of x86-64, so no runtime
// check is needed; elsewhere the eight-byte SWAR test does the same.
inline const char* skip_plain(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    int mask = special_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (has_special(w)) break;
    p += 8;
  }
  return p;
}

}  // namespace

// Plain text (most of a 100 KB document) is skipped a block at a time.
const char* string_end_slow(const char* p, const char* end) {
  ++p;
  while (p < end) {
    p = skip_plain(p, end);
    if (p >= end) break;
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"') return p + 1;
    if (c < 0x20) return nullptr;
    if (c == '\\') {
      if (p + 1 >= end) return nullptr;
      char e = p[1];
      if (e == 'u') {
        if (end - p < 6) return nullptr;
        for (int k = 2; k < 6; ++k)
          if (hex(p[k]) < 0) return nullptr;
        p += 6;
        continue;
      }
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') return nullptr;
      p += 2;
      continue;
    }
    ++p;
  }
  return nullptr;
}

namespace {
// p at a literal's first byte: one past `lit` if it is spelled there, else nullptr.
template <std::size_t N>
const char* literal_end(const char* p, const char* end, const char (&lit)[N]) {
  return end - p >= static_cast<std::ptrdiff_t>(N - 1) && std::memcmp(p, lit, N - 1) == 0 ? p + (N - 1) : nullptr;
}
}  // namespace

const char* value_end(const char* p, const char* end) {
  // An explicit stack of the closing brackets owed keeps deep nesting from
  // overflowing the call stack. Three states: at a value, at a member's key,
  // after a complete value.
  char stack[max_depth];
  std::size_t depth = 0;
value:
  if (p >= end) return nullptr;
  switch (*p) {
    case '"':
      p = string_end(p, end);
      if (!p) return nullptr;
      goto after;
    case '{':
    case '[': {
      if (depth == max_depth) return nullptr;
      char close = *p == '{' ? '}' : ']';
      stack[depth++] = close;
      p = ws(p + 1, end);
      if (p < end && *p == close) {  // empty
        --depth;
        ++p;
        goto after;
      }
      if (close == '}') goto key;
      goto value;
    }
    case 't':
      p = literal_end(p, end, "true");
      if (!p) return nullptr;
      goto after;
    case 'f':
      p = literal_end(p, end, "false");
      if (!p) return nullptr;
      goto after;
    case 'n':
      p = literal_end(p, end, "null");
      if (!p) return nullptr;
      goto after;
    default:
      p = number_end(p, end);
      if (!p) return nullptr;
      goto after;
  }
key:
  if (p >= end || *p != '"') return nullptr;
  p = string_end(p, end);
  if (!p) return nullptr;
  p = ws(p, end);
  if (p >= end || *p != ':') return nullptr;
  p = ws(p + 1, end);
  goto value;
after:
  if (depth == 0) return p;
  p = ws(p, end);
  if (p >= end) return nullptr;
  if (*p == ',') {
    p = ws(p + 1, end);
    if (stack[depth - 1] == '}') goto key;
    goto value;
  }
  if (*p != stack[depth - 1]) return nullptr;
  --depth;
  ++p;
  goto after;
}

}  // namespace scan

namespace {

constexpr std::size_t npos = std::string_view::npos;

using scan::hex;
using scan::is_digit;

// s[i] == '"'; returns index past the closing quote or npos.
inline std::size_t skip_string(std::string_view s, std::size_t i) {
  const char* e = scan::string_end(s.data() + i, s.data() + s.size());
  return e ? static_cast<std::size_t>(e - s.data()) : npos;
}

// Writes `cp` as UTF-8 at `o`; returns the end. At most 4 bytes: an escape
// of 6 (or 12 for a pair) never decodes longer than itself.
char* put_utf8(char* o, std::uint32_t cp) {
  if (cp < 0x80) {
    *o++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *o++ = static_cast<char>(0xC0 | (cp >> 6));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = static_cast<char>(0xE0 | (cp >> 12));
    *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *o++ = static_cast<char>(0xF0 | (cp >> 18));
    *o++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return o;
}

}  // namespace

std::size_t skip_value(std::string_view s, std::size_t i) {
  i = skip_ws(s, i);
  const char* e = scan::value_end(s.data() + i, s.data() + s.size());
  return e ? static_cast<std::size_t>(e - s.data()) : npos;
}

bool validate(std::string_view text) {
  std::size_t e = skip_value(text, 0);
  return e != npos && skip_ws(text, e) == text.size();
}

Type type_of(std::string_view raw) {
  std::size_t i = skip_ws(raw, 0);
  if (i >= raw.size()) return Type::invalid;
  switch (raw[i]) {
    case '{': return Type::object;
    case '[': return Type::array;
    case '"': return Type::string;
    case 't':
    case 'f': return Type::boolean;
    case 'n': return Type::null;
    default: return (raw[i] == '-' || is_digit(raw[i])) ? Type::number : Type::invalid;
  }
}

namespace {
// Shared by both readers: opens the container at `i`, or steps past the
// separator before the next element. Returns true when an element follows;
// false at the closing bracket (done) or on bad input (ok = false).
bool open_container(std::string_view s, std::size_t& i, char open, bool& ok, bool& done) {
  i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != open) {
    ok = false;
    done = true;
    return false;
  }
  ++i;
  return true;
}

bool step(std::string_view s, std::size_t& i, char close, bool& first, bool& ok, bool& done) {
  if (done) return false;
  i = skip_ws(s, i);
  if (i < s.size() && s[i] == close) {  // also the empty container
    ++i;
    done = true;
    return false;
  }
  if (!first) {
    if (i >= s.size() || s[i] != ',') {
      ok = false;
      done = true;
      return false;
    }
    i = skip_ws(s, i + 1);
  }
  if (i >= s.size()) {
    ok = false;
    done = true;
    return false;
  }
  first = false;
  return true;
}
}  // namespace

ObjectReader::ObjectReader(std::string_view object) : s_(object) { open_container(s_, i_, '{', ok_, done_); }

bool ObjectReader::next_key(std::string_view& key, std::size_t& value_at) {
  if (!step(s_, i_, '}', first_, ok_, done_)) return false;
  auto fail = [this] {
    ok_ = false;
    done_ = true;
    return false;
  };
  if (s_[i_] != '"') return fail();
  std::size_t k_end = skip_string(s_, i_);
  if (k_end == npos) return fail();
  key = s_.substr(i_, k_end - i_);
  i_ = skip_ws(s_, k_end);
  if (i_ >= s_.size() || s_[i_] != ':') return fail();
  i_ = skip_ws(s_, i_ + 1);
  value_at = i_;
  return true;
}

void ObjectReader::value_ends_at(std::size_t end) {
  if (end == npos || end > s_.size()) {
    ok_ = false;
    done_ = true;
    return;
  }
  i_ = end;
}

bool ObjectReader::next(std::string_view& key, std::string_view& value) {
  std::size_t v_start = 0;
  if (!next_key(key, v_start)) return false;
  std::size_t v_end = skip_value(s_, v_start);
  value_ends_at(v_end);
  if (!ok_) return false;
  value = s_.substr(v_start, v_end - v_start);
  return true;
}

ArrayReader::ArrayReader(std::string_view array) : s_(array) { open_container(s_, i_, '[', ok_, done_); }

bool ArrayReader::next(std::string_view& value) {
  if (!step(s_, i_, ']', first_, ok_, done_)) return false;
  std::size_t v_end = skip_value(s_, i_);
  if (v_end == npos) {
    ok_ = false;
    done_ = true;
    return false;
  }
  value = s_.substr(i_, v_end - i_);
  i_ = v_end;
  return true;
}

bool key_is(std::string_view raw_key, std::string_view name) {
  if (raw_key.size() < 2) return false;
  std::string_view inner = raw_key.substr(1, raw_key.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == name;
  auto decoded = decode_string(raw_key);
  return decoded && *decoded == name;
}

std::optional<std::string_view> member(std::string_view object, std::string_view name) {
  ObjectReader r(object);
  std::string_view k, v;
  while (r.next(k, v))
    if (key_is(k, name)) return v;
  return std::nullopt;
}

std::optional<std::string_view> path(std::string_view object, std::initializer_list<std::string_view> names) {
  std::optional<std::string_view> cur = object;
  for (auto n : names) {
    cur = member(*cur, n);
    if (!cur) return std::nullopt;
  }
  return cur;
}

std::optional<std::string_view> enter_path(std::string_view s, std::initializer_list<std::string_view> names) {
  std::size_t i = skip_ws(s, 0);
  std::size_t left = names.size();
  if (left == 0) return s;
  for (auto name : names) {
    --left;
    if (i >= s.size() || s[i] != '{') return std::nullopt;
    i = skip_ws(s, i + 1);
    for (;;) {  // the members of this object, up to `name`
      if (i >= s.size() || s[i] != '"') return std::nullopt;
      std::size_t k_end = skip_string(s, i);
      if (k_end == npos) return std::nullopt;
      std::string_view key = s.substr(i, k_end - i);
      i = skip_ws(s, k_end);
      if (i >= s.size() || s[i] != ':') return std::nullopt;
      i = skip_ws(s, i + 1);
      if (key_is(key, name)) break;
      i = skip_value(s, i);
      if (i == npos) return std::nullopt;
      i = skip_ws(s, i);
      if (i >= s.size() || s[i] != ',') return std::nullopt;  // '}': not there
      i = skip_ws(s, i + 1);
    }
    if (left == 0) {
      std::size_t end = skip_value(s, i);
      if (end == npos) return std::nullopt;
      return s.substr(i, end - i);
    }
  }
  return std::nullopt;
}

namespace {

#if defined(__SSE2__)
// Copies `p` to `o` a 16-byte block at a time until a block has a byte that
// `stop` marks (bit k of its mask: byte k); both then point at that byte.
// Each block is stored whole before it is looked at: the caller's output
// must keep pace with its input (decoding only shortens).
template <class Stop>
inline void copy_blocks_until(const char*& p, const char* end, char*& o, Stop stop) {
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v);
    if (int mask = stop(v); mask != 0) {
      int k = __builtin_ctz(static_cast<unsigned>(mask));
      p += k;
      o += k;
      return;
    }
    p += 16;
    o += 16;
  }
}
#endif

// Decodes the escape at p (p[0] == '\\') to `o`, advancing both; false when
// it is malformed or runs past `end`. A \u escape of a high surrogate takes
// the low one after it; a lone surrogate becomes U+FFFD (as Lean's parser).
bool decode_escape(const char*& p, const char* end, char*& o) {
  if (end - p < 2) return false;
  char e = p[1];
  if (e != 'u') {
    switch (e) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '/': *o++ = '/'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      default: return false;
    }
    p += 2;
    return true;
  }
  auto hex4 = [end](const char* q, std::uint32_t& cp) {
    if (end - q < 6) return false;
    int a = hex(q[2]), b = hex(q[3]), c = hex(q[4]), d = hex(q[5]);
    if ((a | b | c | d) < 0) return false;
    cp = static_cast<std::uint32_t>((a << 12) | (b << 8) | (c << 4) | d);
    return true;
  };
  std::uint32_t cp = 0;
  if (!hex4(p, cp)) return false;
  p += 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    std::uint32_t lo = 0;
    if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p, lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
      o = put_utf8(o, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
      p += 6;
      return true;
    }
    o = put_utf8(o, 0xFFFD);  // a lone high surrogate
    return true;
  }
  o = put_utf8(o, (cp >= 0xDC00 && cp <= 0xDFFF) ? 0xFFFD : cp);
  return true;
}

}  // namespace

std::optional<std::string> decode_string(std::string_view raw) {
  std::size_t end = 0;
  auto s = decode_string_at(raw, 0, end);
  if (!s || end != raw.size()) return std::nullopt;
  return s;
}

std::optional<std::string> decode_string_at(std::string_view s, std::size_t i, std::size_t& end_out) {
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  // Decoding only shortens (an escape of 2, 6 or 12 bytes gives 1 to 4), so
  // what is left of `s` bounds the result, and a 16-byte block stored whole
  // before it is looked at never runs past it. One pass finds the end,
  // validates and decodes: a large didOpen text is read once, not twice.
  const char* p = s.data() + i + 1;
  const char* end = s.data() + s.size();
  std::string out(static_cast<std::size_t>(end - p), '\0');
  char* o = out.data();
  for (;;) {
#if defined(__SSE2__)
    copy_blocks_until(p, end, o, scan::special_mask);
#endif
    while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) *o++ = *p++;
    if (p >= end || static_cast<unsigned char>(*p) < 0x20) return std::nullopt;  // unterminated; raw control
    if (*p == '"') break;
    if (!decode_escape(p, end, o)) return std::nullopt;
  }
  end_out = static_cast<std::size_t>(p - s.data()) + 1;
  out.resize(static_cast<std::size_t>(o - out.data()));
  return out;
}

std::optional<std::string> decode_scanned_string(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"') return std::nullopt;
  // As decode_string_at, for a string a reader validated and delimited: only
  // backslashes need a look (a document's text has one per line, \n).
  std::string out(raw.size() - 2, '\0');
  char* o = out.data();
  const char* p = raw.data() + 1;
  const char* end = raw.data() + raw.size() - 1;
  for (;;) {
#if defined(__SSE2__)
    copy_blocks_until(p, end, o, [](__m128i v) {
      return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    });
#endif
    while (p < end && *p != '\\') *o++ = *p++;
    if (p >= end || !decode_escape(p, end, o)) break;  // the end; a bad escape is not reached: validated
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  return out;
}

std::optional<std::int64_t> to_int64(std::string_view raw) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || p != raw.data() + raw.size()) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(std::string_view raw) {
  if (raw == "true") return true;
  if (raw == "false") return false;
  return std::nullopt;
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char hexd[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(hexd[c >> 4]);
        out.push_back(hexd[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_string(out, s);
  return out;
}

}  // namespace leanproxy::json
