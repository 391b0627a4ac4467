// Pointer-level JSON scanning shared by json_scan.cpp and message.cpp: inline,
// so Message::parse's one pass over a message reads keys and scalars without a
// call per token. Every function takes [p, end) and never reads at or past end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace leanproxy::json::scan {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// The first byte at or after p that is not JSON whitespace (end if none).
/// Editors send minified JSON, so the first test usually ends it.
inline const char* ws(const char* p, const char* end) {
  while (p < end && static_cast<unsigned char>(*p) <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

#if defined(__SSE2__)
/// Bit k set: byte k of `v` is '"', '\\' or a control character (< 0x20; a
/// byte is one iff min(byte, 0x1f) == byte, unsigned).
inline int special_mask(__m128i v) {
  __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
  return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
}
#endif

/// string_end() past its first block: escapes, long strings, the input's tail.
const char* string_end_slow(const char* p, const char* end);

/// p at a '"': one past the closing quote of a valid string literal, or
/// nullptr. Keys, methods, ids and uris mostly hold no escape, and a block
/// test per 16 bytes finds their end; an escape, a control character or the
/// input's last bytes go to the general loop.
__attribute__((always_inline)) inline const char* string_end(const char* p, const char* end) {
#if defined(__SSE2__)
  for (const char* q = p + 1; end - q >= 16; q += 16) {
    int mask = special_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    if (mask == 0) continue;
    const char* hit = q + __builtin_ctz(static_cast<unsigned>(mask));
    if (*hit == '"') return hit + 1;
    break;
  }
#endif
  return string_end_slow(p, end);
}

/// p at a number's first byte: one past a valid RFC 8259 number, or nullptr.
inline const char* number_end(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p >= end) return nullptr;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    ++p;
    while (p < end && is_digit(*p)) ++p;
  } else {
    return nullptr;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  return p;
}

/// p at a value's first byte (no whitespace before it): one past the value,
/// validated completely (nesting at most max_depth), or nullptr.
const char* value_end(const char* p, const char* end);

}  // namespace leanproxy::json::scan
