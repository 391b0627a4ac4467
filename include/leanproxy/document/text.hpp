// Document text edits exactly as Lean's server applies them: LSP positions in
// UTF-16 code units over UTF-8 text, Lean's clamping, CRLF → LF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace leanproxy::document {

struct Position {
  std::uint64_t line = 0;
  std::uint64_t character = 0;  ///< UTF-16 code units from the line start
};

/// Lean's `String.crlfToLf`: every "\r\n" becomes "\n"; a lone '\r' stays.
std::string crlf_to_lf(std::string_view text);

/// Lean's `FileMap.lspPosToUtf8Pos`, as a byte offset into `text`:
///  - a line past the last one means the end of the document;
///  - the character count walks code points from the line start and is not
///    stopped by a newline: a character past the end of its line runs on into
///    the next lines (the LSP spec says clamp to the line; Lean does not, and
///    the proxy must agree with the server, not with the spec);
///  - a count that ends inside a surrogate pair moves past that code point;
///  - the result never exceeds the end of the document.
/// Bytes that are not valid UTF-8 count as one code unit each.
std::size_t lsp_to_offset(std::string_view text, Position pos);

/// The inverse for a byte offset at a code point boundary (used by tests and
/// the simulator): line and UTF-16 column.
Position offset_to_lsp(std::string_view text, std::size_t offset);

/// Lean's `replaceLspRange`: text[0,start) + crlf_to_lf(new_text) + text[end,∞).
/// Note that start > end duplicates text[end,start), exactly as Lean does.
std::string replace_range(std::string_view text, Position start, Position end, std::string_view new_text);

/// UTF-16 length of a UTF-8 string (Lean's `String.utf16Length`).
std::size_t utf16_length(std::string_view text);

}  // namespace leanproxy::document
