// Header tokenizer: whitespace, `--` and nested `/- -/` comments, identifiers.
#include "leanproxy/lean/header.hpp"

namespace leanproxy::lean {
namespace {

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Skips blanks and comments; returns false at the end of input.
  bool skip() {
    for (;;) {
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
      if (s_.substr(i_, 2) == "--") {
        auto nl = s_.find('\n', i_);
        i_ = nl == std::string_view::npos ? s_.size() : nl;
        continue;
      }
      if (s_.substr(i_, 2) == "/-") {
        int depth = 0;
        while (i_ < s_.size()) {
          if (s_.substr(i_, 2) == "/-") { ++depth; i_ += 2; }
          else if (s_.substr(i_, 2) == "-/") { i_ += 2; if (--depth == 0) break; }
          else ++i_;
        }
        continue;
      }
      return i_ < s_.size();
    }
  }

  // An identifier (dotted, with «» parts) at the cursor, or empty.
  std::string_view ident() {
    std::size_t start = i_;
    for (;;) {
      if (s_.substr(i_, 2) == "\xc2\xab") {  // «
        auto close = s_.find("\xc2\xbb", i_);  // »
        if (close == std::string_view::npos) return {};
        i_ = close + 2;
      } else {
        std::size_t part = i_;
        while (i_ < s_.size() && is_ident_char(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ == part) break;
      }
      if (i_ < s_.size() && s_[i_] == '.' && i_ + 1 < s_.size() &&
          (is_ident_char(static_cast<unsigned char>(s_[i_ + 1])) || s_.substr(i_ + 1, 2) == "\xc2\xab"))
        ++i_;
      else
        break;
    }
    return s_.substr(start, i_ - start);
  }

  std::size_t pos() const { return i_; }
  void reset(std::size_t p) { i_ = p; }

 private:
  static bool is_ident_char(unsigned char c) {
    // ASCII letters, digits, _, ', ! and ?, plus any non-ASCII byte (Lean
    // allows Greek and other letters; a header never has other symbols).
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '\'' ||
           c == '!' || c == '?' || c >= 0x80;
  }
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

Header parse_header(std::string_view text) {
  Header h;
  Lexer lx(text);
  bool first = true;
  while (lx.skip()) {
    std::size_t at = lx.pos();
    std::string_view word = lx.ident();
    if (first && word == "module") {
      h.is_module = true;
      h.end = lx.pos();
      h.signature = "module";
      first = false;
      continue;
    }
    first = false;
    if (word == "prelude" && h.imports.empty()) {
      h.prelude = true;
      h.end = lx.pos();
      h.signature += h.signature.empty() ? "prelude" : " prelude";
      continue;
    }
    // [public] [meta] import [all] [runtime] Name
    std::size_t before = at;
    std::string tokens;
    while (word == "public" || word == "private" || word == "meta") {
      tokens += std::string(word) + " ";
      if (!lx.skip()) break;
      word = lx.ident();
    }
    if (word != "import") {
      lx.reset(before);
      break;
    }
    if (!lx.skip()) break;
    std::size_t name_at = lx.pos();
    std::string_view name = lx.ident();
    tokens += "import ";
    while (name == "all" || name == "runtime") {
      tokens += std::string(name) + " ";
      if (!lx.skip()) return h;
      name_at = lx.pos();
      name = lx.ident();
    }
    (void)name_at;
    if (name.empty()) break;
    h.imports.emplace_back(name);
    h.end = lx.pos();
    h.signature += (h.signature.empty() ? "" : " ") + tokens + std::string(name);
  }
  return h;
}

std::string module_to_path(std::string_view module) {
  std::string out;
  for (std::size_t i = 0; i < module.size();) {
    if (module.substr(i, 2) == "\xc2\xab") {
      auto close = module.find("\xc2\xbb", i);
      if (close == std::string_view::npos) {  // an unclosed «: the rest is the name
        out.append(module.substr(i + 2));
        break;
      }
      out.append(module.substr(i + 2, close - i - 2));
      i = close + 2;
    } else if (module[i] == '.') {
      out.push_back('/');
      ++i;
    } else {
      out.push_back(module[i++]);
    }
  }
  return out;
}

}  // namespace leanproxy::lean
