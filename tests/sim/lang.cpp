// The simulator's tiny language: header, parser, evaluator and Lean-shaped
// messages (see lang.hpp for the grammar's scope).
#include "lang.hpp"

#include "lang_io.hpp"
#include "lang_lex.hpp"

#include <leanproxy/document/text.hpp>

#include <algorithm>
#include <memory>

namespace leansim {

using lex::K;
using lex::Tok;

std::string Header::key() const {
  std::string k = is_module ? "module;" : ";";
  for (const auto& i : imports) k += i.module + ";";
  return k;
}

namespace {

Diag error_at(std::size_t pos, std::size_t end, std::string msg, int severity = 1) {
  Diag d;
  d.pos = pos;
  d.end_pos = end;
  d.severity = severity;
  d.message = std::move(msg);
  return d;
}

/// Lean's parse-error wording for the token it stopped at.
std::string unexpected(const Tok& t, const char* expected) {
  if (t.k == K::eof) return "unexpected end of input";
  std::string what = t.k == K::ident && !lex::is_command_keyword(t) && t.text != "by" && t.text != "sorry"
                         ? "unexpected identifier"
                         : "unexpected token '" + t.text + "'";
  return what + "; expected " + expected;
}

struct ParseError {
  std::size_t pos;
  std::string msg;
};

struct Expr {
  char op = 'n';  // 'n' literal, 'v' name, '+', '-', '*'
  std::uint64_t num = 0;
  std::string name;
  std::size_t pos = 0, end = 0;
  bool paren = false;
  std::shared_ptr<Expr> l, r;
};
using ExprP = std::shared_ptr<Expr>;

int prec(char op) { return op == '*' ? 70 : (op == '+' || op == '-') ? 65 : 1024; }

/// Lean's pretty printer: minimal parentheses, spaces around operators.
std::string print(const Expr& e, int ctx = 0, bool right = false) {
  if (e.op == 'n') return std::to_string(e.num);
  if (e.op == 'v') return e.name;
  int p = prec(e.op);
  std::string s = print(*e.l, p, false) + " " + e.op + " " + print(*e.r, p, true);
  return (p < ctx || (p == ctx && right)) ? "(" + s + ")" : s;
}

/// Recursive-descent parser over tokens [i, last); tokens[last] is the next
/// command keyword or eof, which error messages name.
class Parser {
 public:
  Parser(const std::vector<Tok>& t, std::size_t i, std::size_t last) : t_(t), i_(i), last_(last) {}

  const Tok& peek() const { return t_[i_]; }
  bool at_end() const { return i_ >= last_; }
  const Tok& take() { return t_[i_++]; }
  std::size_t prev_end() const { return i_ > 0 ? t_[i_ - 1].end : 0; }
  [[noreturn]] void fail(const char* expected) const { throw ParseError{peek().pos, unexpected(peek(), expected)}; }

  bool accept(const char* s) {
    if (!at_end() && peek().is(s)) return ++i_, true;
    return false;
  }
  void expect(const char* s) {
    if (!accept(s)) fail((std::string("'") + s + "'").c_str());
  }
  const Tok& ident(const char* expected = "identifier") {
    if (at_end() || peek().k != K::ident || lex::is_command_keyword(peek())) fail(expected);
    return take();
  }

  ExprP expr() {
    ExprP e = term();
    while (!at_end() && (peek().is("+") || peek().is("-"))) {
      char op = take().text[0];  // sequenced: argument evaluation order is unspecified
      e = bin(op, e, term());
    }
    return e;
  }

 private:
  ExprP bin(char op, ExprP l, ExprP r) {
    auto e = std::make_shared<Expr>();
    e->op = op;
    e->pos = l->pos;
    e->end = r->end;
    e->l = std::move(l);
    e->r = std::move(r);
    return e;
  }
  ExprP term() {
    ExprP e = atom();
    while (!at_end() && peek().is("*")) {
      char op = take().text[0];
      e = bin(op, e, atom());
    }
    return e;
  }
  ExprP atom() {
    if (at_end()) fail("term");
    const Tok& tk = peek();
    auto e = std::make_shared<Expr>();
    e->pos = tk.pos;
    e->end = tk.end;
    if (tk.k == K::num) {
      take();
      e->op = 'n';
      e->num = std::stoull(tk.text.size() > 19 ? "0" : tk.text);
      return e;
    }
    if (tk.k == K::ident && !lex::is_command_keyword(tk) && tk.text != "by" && tk.text != "sorry") {
      take();
      e->op = 'v';
      e->name = tk.text;
      return e;
    }
    if (tk.is("(")) {
      take();
      ExprP inner = expr();
      expect(")");
      inner->paren = true;
      return inner;
    }
    fail("term");
  }

  const std::vector<Tok>& t_;
  std::size_t i_, last_;
};

// Lean's Name.cmp: the prefixes first (fewer components sort first), then
// the last component; how `#print axioms` orders its list
// ([propext, Classical.choice, Quot.sound]).
int name_cmp(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 0 : a.empty() ? -1 : 1;
  auto da = a.rfind('.'), db = b.rfind('.');
  std::string_view pa = da == std::string_view::npos ? std::string_view{} : a.substr(0, da);
  std::string_view pb = db == std::string_view::npos ? std::string_view{} : b.substr(0, db);
  if (int c = name_cmp(pa, pb)) return c;
  std::string_view la = da == std::string_view::npos ? a : a.substr(da + 1);
  std::string_view lb = db == std::string_view::npos ? b : b.substr(db + 1);
  return la.compare(lb) < 0 ? -1 : la == lb ? 0 : 1;
}

struct Elab {
  const std::string& text;
  Env& env;
  const Options& opts;
  CmdResult& res;
  std::set<std::string> axioms;  ///< of what this command's terms and proof use
  bool proof_reported = false;   ///< the proof term already has its error (no "unsolved goals" too)

  std::optional<std::uint64_t> eval(const Expr& e) {
    if (e.op == 'n') {
      res.terms.push_back({e.pos, e.end, std::to_string(e.num), e.num, ""});
      return e.num;
    }
    if (e.op == 'v') {
      auto it = env.find(e.name);
      if (it == env.end() || it->second.kind != 'd') {
        res.diags.push_back(error_at(e.pos, e.end, "unknown identifier '" + e.name + "'"));
        return std::nullopt;
      }
      res.terms.push_back({e.pos, e.end, e.name, it->second.value, it->second.module});
      axioms.insert(it->second.axioms.begin(), it->second.axioms.end());
      return it->second.value;
    }
    auto a = eval(*e.l);
    auto b = eval(*e.r);
    if (!a || !b) return std::nullopt;
    switch (e.op) {
      case '+': return *a + *b;
      case '*': return *a * *b;
      default: return *a >= *b ? *a - *b : 0;  // Nat subtraction truncates
    }
  }

  void sorry_warning() {
    std::size_t p = res.name.empty() ? res.begin : res.name_pos;
    std::size_t e = res.name.empty() ? res.begin + res.kind.size() : res.name_end;
    res.diags.push_back(error_at(p, e, "declaration uses 'sorry'", opts.strict_sorry ? 1 : 2));
  }

  // A proof that names a theorem or axiom: it closes the goal when its
  // statement is the goal's (Lean's `type mismatch` otherwise), and brings
  // its axioms. False (nothing reported) when `name` is neither.
  bool proof_by_name(const Tok& name, const std::string& prop) {
    auto it = env.find(name.text);
    if (it == env.end() || it->second.kind == 'd') return false;
    axioms.insert(it->second.axioms.begin(), it->second.axioms.end());
    if (it->second.prop == prop) return true;
    res.diags.push_back(error_at(name.pos, name.end,
                                 "type mismatch\n  " + name.text + "\nhas type\n  " + it->second.prop +
                                     " : Prop\nbut is expected to have type\n  " + prop + " : Prop"));
    proof_reported = true;
    return false;
  }

  // `: True` or `: lhs = rhs`, parsed; evaluate() then elaborates its terms
  // (after the caller has parsed what follows, as Lean reports parse errors first).
  struct Statement {
    bool is_true = false;
    ExprP lhs, rhs;
    std::optional<std::uint64_t> a, b;
    std::string prop;
    void evaluate(Elab& el) {
      if (is_true) return;
      a = el.eval(*lhs);
      b = el.eval(*rhs);
    }
  };
  Statement statement(Parser& p) {
    p.expect(":");
    Statement s;
    if (!p.at_end() && p.peek().is("True")) {
      p.take();
      s.is_true = true;
      s.prop = "True";
      return s;
    }
    s.lhs = p.expr();
    p.expect("=");
    s.rhs = p.expr();
    s.prop = print(*s.lhs) + " = " + print(*s.rhs);
    return s;
  }

  // theorem / example: `: prop := proof`. Returns the statement.
  std::string proposition(Parser& p) {
    Statement st = statement(p);
    p.expect(":=");
    std::size_t errors_before = res.diags.size();
    st.evaluate(*this);
    bool is_true = st.is_true;
    auto a = st.a, b = st.b;
    res.goal = "⊢ " + st.prop;
    bool statement_ok = res.diags.size() == errors_before;
    bool holds = is_true || (a && b && *a == *b);

    bool sorried = false, closed = false;
    std::size_t proof_pos = p.at_end() ? p.prev_end() : p.peek().pos;
    if (p.accept("by")) {
      res.has_by = true;
      res.by_pos = proof_pos;
      if (p.at_end()) p.fail("tactic");
      const Tok& tac = p.take();
      if (tac.is("exact")) {
        const Tok& arg = p.ident("term");
        closed = (is_true && (arg.text == "True.intro" || arg.text == "trivial")) || proof_by_name(arg, st.prop);
      } else if (tac.is("sorry")) {
        sorried = true;
      } else if (tac.is("rfl") || tac.is("decide") || tac.is("omega") || tac.is("simp") || tac.is("trivial")) {
        closed = holds;
        if (closed && (tac.is("simp") || tac.is("omega"))) axioms.insert("propext");  // their proofs rewrite with propext
      } else {
        throw ParseError{tac.pos, unexpected(tac, "tactic")};
      }
      res.tactic_end = p.prev_end();
    } else {
      const Tok& term = p.ident("term");
      if (term.text == "sorry") sorried = true;
      else closed = (term.text == "rfl" && holds) || (is_true && (term.text == "True.intro" || term.text == "trivial")) ||
                    proof_by_name(term, st.prop);
    }
    res.closed = closed || sorried;
    // Lean adds a declaration whose proof failed with the failed part sorried.
    if (sorried || !closed) axioms.insert("sorryAx");
    if (!statement_ok) return st.prop;  // Lean reports the statement's errors only
    if (sorried) {
      sorry_warning();
    } else if (!closed && !proof_reported) {
      std::size_t end = p.prev_end();
      Diag d = error_at(proof_pos, end, "unsolved goals\n" + res.goal);
      d.lean_tags = {1};
      res.diags.push_back(d);
    }
    if (closed && !sorried) {
      Diag d = error_at(res.begin, p.prev_end(), "Goals accomplished!", 3);
      d.lean_tags = {2};
      d.silent = true;
      res.diags.push_back(d);
    }
    return st.prop;
  }

  void command(Parser& p) {
    const Tok& kw = p.take();
    res.kind = kw.text;
    if (kw.is("def")) {
      const Tok& n = p.ident();
      res.name = n.text;
      res.name_pos = n.pos;
      res.name_end = n.end;
      if (p.accept(":")) {
        const Tok& ty = p.ident("term");
        if (ty.text != "Nat") res.diags.push_back(error_at(ty.pos, ty.end, "unknown identifier '" + ty.text + "'"));
      }
      p.expect(":=");
      if (!p.at_end() && p.peek().is("sorry")) {
        p.take();
        sorry_warning();
        env[n.text] = Decl{0, "", 'd', "", {"sorryAx"}};
        res.declared = env[n.text];
        return;
      }
      ExprP e = p.expr();
      auto v = eval(*e);
      if (env.count(n.text)) {  // Lean's checkNotAlreadyDeclared: imported names too
        res.diags.push_back(error_at(n.pos, n.end, "'" + n.text + "' has already been declared"));
      } else if (v) {
        env[n.text] = Decl{*v, "", 'd', "", axioms};
        res.value = v;
        res.declared = env[n.text];
      }
    } else if (kw.is("theorem")) {
      const Tok& n = p.ident();
      res.name = n.text;
      res.name_pos = n.pos;
      res.name_end = n.end;
      std::string prop = proposition(p);
      env[n.text] = Decl{0, "", 't', prop, axioms};
      res.declared = env[n.text];
    } else if (kw.is("axiom")) {
      const Tok& n = p.ident();
      res.name = n.text;
      res.name_pos = n.pos;
      res.name_end = n.end;
      Statement st = statement(p);
      st.evaluate(*this);
      axioms.insert(n.text);
      env[n.text] = Decl{0, "", 'a', st.prop, axioms};
      res.declared = env[n.text];
    } else if (kw.is("#print")) {
      // Only `#print axioms N` (Lean's answer wording, list in Name order).
      const Tok& what = p.ident("'axioms'");
      if (what.text != "axioms") throw ParseError{what.pos, "sim: only '#print axioms' is simulated"};
      const Tok& n = p.ident();
      auto it = env.find(n.text);
      if (it == env.end()) {
        res.diags.push_back(error_at(n.pos, n.end, "unknown constant '" + n.text + "'"));
        return;
      }
      std::vector<std::string> list(it->second.axioms.begin(), it->second.axioms.end());
      std::sort(list.begin(), list.end(), [](const std::string& x, const std::string& y) { return name_cmp(x, y) < 0; });
      std::string msg = "'" + n.text + "' " + (list.empty() ? "does not depend on any axioms" : "depends on axioms: [");
      for (std::size_t i = 0; i < list.size(); ++i) msg += (i ? ", " : "") + list[i];
      if (!list.empty()) msg += "]";
      res.diags.push_back(error_at(kw.pos, n.end, msg, 3));
    } else if (kw.is("example")) {
      proposition(p);
    } else if (kw.is("#eval") || kw.is("#check")) {
      if (kw.is("#check") && !p.at_end() && p.peek().is("True")) {
        p.take();
        res.diags.push_back(error_at(kw.pos, kw.end, "True : Prop", 3));
        return;
      }
      if (kw.is("#eval") && !p.at_end() && p.peek().text.rfind("IO.", 0) == 0) {  // IO actions: lang_io.hpp
        if (auto io = eval_io(text.substr(kw.end, res.end - kw.end), opts.run_io)) {
          while (!p.at_end()) p.take();
          if (!io->message.empty()) res.diags.push_back(error_at(kw.pos, kw.end, io->message, io->severity));
          return;
        }
      }
      ExprP e = p.expr();
      auto v = eval(*e);
      if (!v) return;
      res.value = v;
      std::string msg = kw.is("#eval") ? std::to_string(*v) : print(*e) + " : Nat";
      res.diags.push_back(error_at(kw.pos, kw.end, msg, 3));
    } else {  // `import` / `module` after the header
      throw ParseError{kw.pos, "invalid '" + kw.text + "' command, it must be used in the beginning of the file"};
    }
  }
};

}  // namespace

Header parse_header(const std::string& text) {
  Header h;
  auto lx = lex::lex(text);
  const auto& t = lx.toks;
  std::size_t i = 0;
  h.begin = t[0].k == K::eof ? 0 : t[0].pos;
  if (t[i].is("module")) h.end = t[i++].end, h.is_module = true;
  for (;;) {
    std::size_t start = i;
    if (t[i].is("public") && t[i + 1].is("import")) ++i;
    if (!t[i].is("import")) {
      i = start;
      break;
    }
    ++i;
    if (t[i].k != K::ident || lex::is_command_keyword(t[i])) {
      h.diags.push_back(error_at(t[i].pos, t[i].pos, unexpected(t[i], "identifier")));
      h.end = t[i - 1].end;
      break;
    }
    h.imports.push_back({t[i].text, t[start].pos, t[i].end});
    h.end = t[i++].end;
  }
  return h;
}

std::vector<CmdResult> elaborate(const std::string& text, std::size_t header_end, Env& env, const Options& opts) {
  auto lx = lex::lex(text);
  const auto& t = lx.toks;
  std::size_t i = 0;
  while (t[i].k != K::eof && t[i].pos < header_end) ++i;
  std::vector<CmdResult> out;
  while (t[i].k != K::eof) {
    // A command runs up to the next command keyword (Lean's error recovery
    // also resumes there).
    std::size_t last = i + 1;
    while (t[last].k != K::eof && !lex::is_command_keyword(t[last])) ++last;
    CmdResult res;
    res.begin = t[i].pos;
    res.end = t[last - 1].end;
    if (!lex::is_command_keyword(t[i])) {
      res.kind = "error";
      res.diags.push_back(error_at(t[i].pos, t[i].pos, unexpected(t[i], "command")));
    } else {
      Parser p(t, i, last);
      Elab el{text, env, opts, res, {}, false};
      try {
        el.command(p);
        if (!p.at_end()) throw ParseError{p.peek().pos, unexpected(p.peek(), "command")};
      } catch (const ParseError& e) {
        res.diags.push_back(error_at(e.pos, e.pos, e.msg));
      }
    }
    std::size_t next_begin = t[last].pos;
    for (const auto& d : lx.directives) {
      if (d.pos < res.begin || d.pos >= next_begin) continue;
      if (d.text.rfind("sleep ", 0) == 0) res.sleep_ms += std::atol(d.text.c_str() + 6);
      else res.markers.push_back(d.text);
    }
    out.push_back(std::move(res));
    i = last;
  }
  return out;
}

json lsp_pos(const std::string& text, std::size_t offset) {
  auto p = leanproxy::document::offset_to_lsp(text, offset);
  return json{{"line", p.line}, {"character", p.character}};
}

json lsp_range(const std::string& text, std::size_t pos, std::size_t end) {
  return json{{"start", lsp_pos(text, pos)}, {"end", lsp_pos(text, end)}};
}

json diag_to_json(const std::string& text, const Diag& d, bool include_silent_flag) {
  json full = d.fixed_full_range ? *d.fixed_full_range : lsp_range(text, d.pos, d.end_pos);
  json range = full;
  if (d.fixed_range) {
    range = *d.fixed_range;
  } else if (full["end"]["line"] > full["start"]["line"]) {
    // Lean shows only the first line of a multi-line message range.
    range["end"] = json{{"line", full["start"]["line"].get<std::uint64_t>() + 1}, {"character", 0}};
  }
  json j{{"source", "Lean 4"}, {"severity", d.severity}, {"range", range}, {"fullRange", full}, {"message", d.message}};
  if (!d.lean_tags.empty()) j["leanTags"] = d.lean_tags;
  if (d.silent && include_silent_flag) j["isSilent"] = true;
  return j;
}

}  // namespace leansim
