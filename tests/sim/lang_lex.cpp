// Lexer of the simulator's tiny language.
#include "lang_lex.hpp"

#include <cctype>

namespace leansim::lex {

namespace {
bool ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '\'' || c == '.' || c >= 0x80; }
std::string trim(const std::string& s) {
  std::size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

bool is_command_keyword(const Tok& t) {
  return t.k == K::ident && (t.text == "def" || t.text == "theorem" || t.text == "example" || t.text == "#eval" ||
                             t.text == "#check" || t.text == "#print" || t.text == "axiom" || t.text == "import" || t.text == "module");
}

Lexed lex(const std::string& s) {
  Lexed out;
  std::size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (s.compare(i, 2, "--") == 0) {
      std::size_t e = s.find('\n', i);
      if (e == std::string::npos) e = n;
      std::string body = trim(s.substr(i + 2, e - i - 2));
      if (body.rfind("sim:", 0) == 0) out.directives.push_back({i, trim(body.substr(4))});
      i = e;
    } else if (s.compare(i, 2, "/-") == 0) {
      std::size_t e = s.find("-/", i + 2);
      i = e == std::string::npos ? n : e + 2;
    } else if (c == '#' && i + 1 < n && std::isalpha(static_cast<unsigned char>(s[i + 1]))) {
      std::size_t j = i + 1;
      while (j < n && ident_char(static_cast<unsigned char>(s[j]))) ++j;
      out.toks.push_back({K::ident, i, j, s.substr(i, j - i)});
      i = j;
    } else if (ident_start(c)) {
      std::size_t j = i;
      while (j < n && ident_char(static_cast<unsigned char>(s[j]))) ++j;
      out.toks.push_back({K::ident, i, j, s.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(c)) {
      std::size_t j = i;
      while (j < n && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      out.toks.push_back({K::num, i, j, s.substr(i, j - i)});
      i = j;
    } else if (c == '"') {
      // A string literal is one token (its text keeps the quotes and escapes),
      // so `--`, `#eval` or `def` inside it neither comment out nor end a command.
      std::size_t j = i + 1;
      while (j < n && s[j] != '"') j += s[j] == '\\' && j + 1 < n ? 2 : 1;
      if (j < n && s[j] == '"') ++j;
      out.toks.push_back({K::sym, i, j, s.substr(i, j - i)});
      i = j;
    } else if (s.compare(i, 2, ":=") == 0) {
      out.toks.push_back({K::sym, i, i + 2, ":="});
      i += 2;
    } else {
      out.toks.push_back({K::sym, i, i + 1, std::string(1, static_cast<char>(c))});
      ++i;
    }
  }
  out.toks.push_back({K::eof, n, n, ""});
  return out;
}

}  // namespace leansim::lex
