// Lexer of the simulator's tiny language (internal to lang.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace leansim::lex {

enum class K { ident, num, sym, eof };

struct Tok {
  K k = K::eof;
  std::size_t pos = 0, end = 0;
  std::string text;
  bool is(const char* s) const { return k != K::eof && text == s; }
};

/// `-- sim: …` comment directives, with their position (for fault injection
/// and the slow-proof cost).
struct Directive {
  std::size_t pos = 0;
  std::string text;  ///< after "sim:", trimmed
};

struct Lexed {
  std::vector<Tok> toks;  ///< always ends with one eof token
  std::vector<Directive> directives;
};

/// Identifiers may contain '.', '_', '\'' and any non-ASCII byte; "#eval" and
/// "#check" are single tokens; `--` and `/- -/` are comments; a string
/// literal `"…"` (backslash escapes; may span lines, as Lean's; unclosed: to the
/// end) is one `sym` token.
Lexed lex(const std::string& text);

bool is_command_keyword(const Tok& t);

}  // namespace leansim::lex
