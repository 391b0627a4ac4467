// UTF-16 position arithmetic over UTF-8 text, following Lean's FileMap.
#include "leanproxy/document/text.hpp"

#include <algorithm>
#include <cstring>

namespace leanproxy::document {
namespace {

// Length in bytes of the UTF-8 sequence starting at p (1 for invalid bytes),
// and its UTF-16 size.
struct CodePoint {
  std::size_t bytes;
  std::size_t utf16;
};

CodePoint decode_at(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {1, 1};
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return {1, 1};
  return {len, len == 4 ? 2u : 1u};
}

// Byte offset of the start of `line` per Lean's FileMap.positions: line 0 is
// 0, line k the byte after the k-th '\n'; past the last line, the end.
std::size_t line_start(std::string_view text, std::uint64_t line) {
  std::size_t pos = 0;
  for (std::uint64_t l = 0; l < line; ++l) {
    const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
    if (!nl) return text.size();
    pos = static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) + 1;
  }
  return pos;
}

}  // namespace

std::string crlf_to_lf(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  for (;;) {
    std::size_t cr = text.find("\r\n", start);
    if (cr == std::string_view::npos) break;
    out.append(text.substr(start, cr - start));
    start = cr + 1;  // keep the '\n'
  }
  out.append(text.substr(start));
  return out;
}

std::size_t lsp_to_offset(std::string_view text, Position pos) {
  std::size_t i = line_start(text, pos.line);
  std::uint64_t units = pos.character;
  // Lean: utf16PosToCodepointPosFrom walks code points, subtracting each one's
  // UTF-16 size with natural-number subtraction (so landing inside a pair
  // still consumes the code point), without stopping at newlines.
  while (units > 0 && i < text.size()) {
    CodePoint cp = decode_at(text, i);
    units = units > cp.utf16 ? units - cp.utf16 : 0;
    i += cp.bytes;
  }
  return i;
}

Position offset_to_lsp(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  Position p;
  std::size_t ls = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') { ++p.line; ls = i + 1; }
  for (std::size_t i = ls; i < offset;) {
    CodePoint cp = decode_at(text, i);
    p.character += cp.utf16;
    i += cp.bytes;
  }
  return p;
}

std::string replace_range(std::string_view text, Position start, Position end, std::string_view new_text) {
  std::size_t a = lsp_to_offset(text, start);
  std::size_t b = lsp_to_offset(text, end);
  std::string repl = crlf_to_lf(new_text);
  std::string out;
  out.reserve(a + repl.size() + (text.size() - b));
  out.append(text.substr(0, a)).append(repl).append(text.substr(b));
  return out;
}

std::size_t utf16_length(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size();) {
    CodePoint cp = decode_at(text, i);
    n += cp.utf16;
    i += cp.bytes;
  }
  return n;
}

}  // namespace leanproxy::document
