// Lexical scan for declaration names: comments, strings, namespaces, modifiers.
#include "leanproxy/lean/declarations.hpp"

#include <algorithm>
#include <array>

namespace leanproxy::lean {
namespace {

bool ident_char(unsigned char c) {
  // As Lean's identifiers: ASCII letters, digits, _ ' ! ?, and non-ASCII
  // letters (approximated by any non-ASCII byte: symbols such as → end up in
  // "identifiers", which never equal a keyword, so nothing is misread).
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '\'' ||
         c == '!' || c == '?' || c >= 0x80;
}

struct Token {
  std::string_view text;
  bool ident = false;
  bool line_start = false;  ///< nothing but blanks and comments before it on its line
};

class Scanner {
 public:
  Scanner(std::string_view s, std::size_t from) : s_(s), i_(std::min(from, s.size())) {
    line_start_ = i_ == 0 || s_[i_ - 1] == '\n';
  }

  bool next(Token& t) {
    skip_blanks();
    if (i_ >= s_.size()) return false;
    t.line_start = line_start_;
    line_start_ = false;
    std::size_t start = i_;
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (s_.compare(i_, 2, "\xc2\xab") == 0 || (ident_char(c) && c != '\'' && !(c >= '0' && c <= '9'))) {
      ident();
      t = {s_.substr(start, i_ - start), true, t.line_start};
      return true;
    }
    if (c == '"') {
      for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_)
        if (s_[i_] == '\\') ++i_;
      ++i_;
    } else if (c == '\'' && i_ + 2 < s_.size() && (s_[i_ + 2] == '\'' || s_[i_ + 1] == '\\')) {
      // a character literal: 'a', '\n' (a lone ' is part of an identifier)
      auto close = s_.find('\'', i_ + 2);
      i_ = close == std::string_view::npos ? s_.size() : close + 1;
    } else {
      ++i_;
    }
    i_ = std::min(i_, s_.size());
    t = {s_.substr(start, i_ - start), false, t.line_start};
    return true;
  }

 private:
  void skip_blanks() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\n') {
        line_start_ = true;
        ++i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (s_.compare(i_, 2, "--") == 0) {
        auto nl = s_.find('\n', i_);
        i_ = nl == std::string_view::npos ? s_.size() : nl;
      } else if (s_.compare(i_, 2, "/-") == 0) {
        int depth = 0;
        while (i_ < s_.size()) {
          if (s_.compare(i_, 2, "/-") == 0) ++depth, i_ += 2;
          else if (s_.compare(i_, 2, "-/") == 0) {
            i_ += 2;
            if (--depth == 0) break;
          } else {
            ++i_;
          }
        }
      } else {
        return;
      }
    }
  }

  // A dotted name with «» parts; stops before `.{` (universe parameters).
  void ident() {
    for (;;) {
      if (s_.compare(i_, 2, "\xc2\xab") == 0) {
        auto close = s_.find("\xc2\xbb", i_);
        i_ = close == std::string_view::npos ? s_.size() : close + 2;
      } else {
        while (i_ < s_.size() && ident_char(static_cast<unsigned char>(s_[i_]))) ++i_;
      }
      if (i_ + 1 < s_.size() && s_[i_] == '.' &&
          (ident_char(static_cast<unsigned char>(s_[i_ + 1])) || s_.compare(i_ + 1, 2, "\xc2\xab") == 0))
        ++i_;
      else
        return;
    }
  }

  std::string_view s_;
  std::size_t i_;
  bool line_start_ = true;
};

constexpr std::array<std::string_view, 6> kDeclKeywords = {"theorem", "lemma", "def", "abbrev", "opaque", "instance"};
constexpr std::array<std::string_view, 8> kModifiers = {"private",  "protected", "noncomputable", "unsafe",
                                                        "partial",  "nonrec",    "public",        "meta"};

template <std::size_t N>
bool one_of(std::string_view w, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

}  // namespace

std::vector<std::string> declared_names(std::string_view text, std::size_t from) {
  std::vector<std::string> out;
  std::vector<std::string> scopes;  // one entry per namespace / section / mutual: its name prefix ("" for the latter)
  Scanner sc(text, from);
  Token t;
  bool command_start = false;  // only attributes and modifiers since the start of a line
  int attribute_depth = 0;     // inside @[ … ]
  while (sc.next(t)) {
    if (attribute_depth > 0) {
      if (t.text == "[") ++attribute_depth;
      else if (t.text == "]") --attribute_depth;
      continue;
    }
    if (t.line_start) command_start = true;
    if (!command_start) continue;
    if (t.text == "@") {
      Token open;
      if (!(sc.next(open) && open.text == "[")) {
        command_start = false;
        continue;
      }
      attribute_depth = 1;
      continue;
    }
    if (!t.ident) {
      command_start = false;
      continue;
    }
    if (one_of(t.text, kModifiers)) continue;
    command_start = false;
    if (t.text == "namespace") {
      Token n;
      if (sc.next(n) && n.ident) scopes.emplace_back(n.text);
    } else if (t.text == "section" || t.text == "mutual") {
      scopes.emplace_back();
    } else if (t.text == "end") {
      if (!scopes.empty()) scopes.pop_back();
    } else if (one_of(t.text, kDeclKeywords)) {
      Token n;
      if (!sc.next(n) || !n.ident) continue;  // an anonymous instance
      std::string name(n.text);
      if (name.rfind("_root_.", 0) == 0) {
        name.erase(0, 7);
      } else {
        std::string prefix;
        for (const auto& s : scopes)
          if (!s.empty()) prefix += s + ".";
        name = prefix + name;
      }
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
  }
  return out;
}

}  // namespace leanproxy::lean
