// Parsing and judging agent checks (nlohmann: small messages, once per check).
#include "leanproxy/pool/check_request.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "leanproxy/lean/declarations.hpp"
#include "leanproxy/lean/header.hpp"

namespace leanproxy::pool {
using nlohmann::json;

namespace {
std::string lf(std::string s) {
  // Lean turns CRLF into LF before anything else (as didOpen does).
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out.push_back(s[i]);
  return out;
}
// Appends `#print axioms N` for each named declaration of the body, one per
// line after the agent's text (Lean answers each with an info message on its
// line: `'N' depends on axioms: [a, b]` / `'N' does not depend on any axioms`).
void ask_axioms(CheckRequest& r) {
  auto names = lean::declared_names(r.text, lean::parse_header(r.text).end);
  if (names.empty()) return;
  if (names.size() > max_axiom_queries) names.resize(max_axiom_queries);
  if (!r.text.empty() && r.text.back() != '\n') r.text += '\n';
  r.axiom_line = static_cast<long long>(std::count(r.text.begin(), r.text.end(), '\n'));
  for (const auto& n : names) r.text += "#print axioms " + n + "\n";
  r.axiom_queries = std::move(names);
}

// The axioms in Lean's answer to `#print axioms`, or nullopt when `message`
// is not such an answer.
std::optional<std::vector<std::string>> axioms_in(const std::string& message) {
  if (message.find("' does not depend on any axioms") != std::string::npos) return std::vector<std::string>{};
  auto at = message.find("' depends on axioms: [");
  if (at == std::string::npos || message.back() != ']') return std::nullopt;
  std::vector<std::string> out;
  std::string_view list(message);
  list = list.substr(at + 22, list.size() - at - 23);
  while (!list.empty()) {
    auto comma = list.find(", ");
    out.emplace_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 2);
  }
  return out;
}

bool standard_axiom(const std::string& a) { return a == "propext" || a == "Classical.choice" || a == "Quot.sound"; }

}  // namespace

std::optional<CheckRequest> parse_check_request(std::string_view params, std::string& error) {
  json p = json::parse(params, nullptr, false);
  if (!p.is_object()) {
    error = "expected params {text} or {header, body}, with optional positions and timeoutMs";
    return std::nullopt;
  }
  CheckRequest r;
  if (p.contains("text")) {
    if (!p["text"].is_string() || p.contains("header") || p.contains("body")) {
      error = "\"text\" must be a string, and not combined with header/body";
      return std::nullopt;
    }
    r.text = p["text"].get<std::string>();
  } else if (p.contains("header") || p.contains("body")) {
    if (!p.value("header", json("")).is_string() || !p.value("body", json("")).is_string()) {
      error = "\"header\" and \"body\" must be strings";
      return std::nullopt;
    }
    std::string header = p.value("header", ""), body = p.value("body", "");
    if (!header.empty() && header.back() != '\n') header += '\n';
    r.text = header + body;
  } else {
    error = "expected \"text\", or \"header\" and \"body\"";
    return std::nullopt;
  }
  r.text = lf(std::move(r.text));
  if (p.contains("positions")) {
    const json& ps = p["positions"];
    if (!ps.is_array()) {
      error = "\"positions\" must be an array of {line, character}";
      return std::nullopt;
    }
    for (const auto& pos : ps) {
      if (!pos.is_object() || !pos.value("line", json()).is_number_integer() ||
          !pos.value("character", json()).is_number_integer() || pos["line"].get<long long>() < 0 ||
          pos["character"].get<long long>() < 0) {
        error = "each position must be {line, character} with non-negative integers";
        return std::nullopt;
      }
      r.positions.emplace_back(pos["line"].get<long long>(), pos["character"].get<long long>());
    }
  }
  bool axioms = true;
  if (p.contains("axioms")) {
    if (!p["axioms"].is_boolean()) {
      error = "\"axioms\" must be true or false";
      return std::nullopt;
    }
    axioms = p["axioms"].get<bool>();
  }
  if (p.contains("allowAxioms")) {
    const json& a = p["allowAxioms"];
    if (!a.is_array() || !std::all_of(a.begin(), a.end(), [](const json& x) { return x.is_string(); })) {
      error = "\"allowAxioms\" must be an array of axiom names (e.g. [\"Lean.ofReduceBool\"])";
      return std::nullopt;
    }
    r.allowed_axioms = a.get<std::vector<std::string>>();
  }
  if (axioms) ask_axioms(r);
  if (p.contains("timeoutMs")) {
    const json& t = p["timeoutMs"];
    if (!t.is_number_integer() || t.get<long long>() <= 0 || t.get<long long>() > 86400000LL) {
      error = "\"timeoutMs\" must be a positive integer of milliseconds (at most a day)";
      return std::nullopt;
    }
    r.timeout_ms = t.get<long long>();
  }
  return r;
}

Verdict judge(const std::string& diagnostics_json, const CheckRequest& req) {
  Verdict v;
  json d = json::parse(diagnostics_json, nullptr, false);
  if (!d.is_array()) {
    v.ok = false;
    v.reasons.push_back("no diagnostics");
    return v;
  }
  json kept = json::array(), axioms = json::object();
  for (auto& x : d) {
    if (!x.is_object()) continue;
    int sev = x.value("severity", 1);
    std::string msg = x.value("message", "");
    // The answers on the proxy's own lines are the axiom report, not the agent's diagnostics.
    long long line = x.contains("range") && x["range"].is_object() ? x["range"].value("start", json::object()).value("line", -1LL) : -1;
    long long q = line - req.axiom_line;
    if (!req.axiom_queries.empty() && q >= 0 && q < static_cast<long long>(req.axiom_queries.size())) {
      auto found = axioms_in(msg);
      if (found && sev == 3) {
        axioms[req.axiom_queries[static_cast<std::size_t>(q)]] = *found;
        continue;
      }
      // A declaration that did not elaborate is unknown to `#print axioms`:
      // its own error is already reported where the agent wrote it.
      if (msg.rfind("unknown constant", 0) == 0 || msg.rfind("unknown identifier", 0) == 0) continue;
    }
    if (sev == 1) {
      v.ok = false;
      v.reasons.push_back("error: " + msg.substr(0, msg.find('\n')));
    } else if (msg.find("declaration uses 'sorry'") != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("uses sorry");
    }
    kept.push_back(std::move(x));
  }
  for (const auto& name : req.axiom_queries) {
    if (!axioms.contains(name)) continue;
    std::vector<std::string> beyond;
    for (const auto& a : axioms[name])
      if (!standard_axiom(a.get<std::string>()) &&
          std::find(req.allowed_axioms.begin(), req.allowed_axioms.end(), a.get<std::string>()) == req.allowed_axioms.end())
        beyond.push_back(a.get<std::string>());
    if (beyond.empty()) continue;
    v.ok = false;
    std::string list;
    for (const auto& a : beyond) list += (list.empty() ? "" : ", ") + a;
    v.reasons.push_back("'" + name + "' depends on axioms beyond the standard three: [" + list + "]");
  }
  // Options that switch checking off make any "no errors" meaningless.
  for (const char* off : {"debug.skipKernelTC true", "debug.skipKernelTC := true"})
    if (req.text.find(off) != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("kernel checking disabled (debug.skipKernelTC)");
      break;
    }
  v.diagnostics = kept.dump(-1, ' ', false, json::error_handler_t::replace);
  v.axioms = axioms.dump(-1, ' ', false, json::error_handler_t::replace);
  return v;
}

std::string check_result_json(const CheckOutcome& o, const CheckRequest& req, bool* ok) {
  Verdict v = judge(o.diagnostics, req);
  if (o.timed_out) {
    v.ok = false;
    v.reasons.insert(v.reasons.begin(), "timed out");
  }
  if (!o.failure.empty()) {
    v.ok = false;
    v.reasons.insert(v.reasons.begin(), o.failure);
  }
  if (ok) *ok = v.ok;
  json r;
  r["diagnostics"] = json::parse(v.diagnostics, nullptr, false);
  if (r["diagnostics"].is_discarded()) r["diagnostics"] = json::array();
  r["goals"] = json::parse(o.goals, nullptr, false);
  if (r["goals"].is_discarded()) r["goals"] = json::array();
  r["cached"] = o.cached;
  r["elapsedMs"] = o.elapsed_ms;
  r["ok"] = v.ok;
  r["reasons"] = v.reasons;
  r["timedOut"] = o.timed_out;
  r["axioms"] = json::parse(v.axioms, nullptr, false);
  return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace leanproxy::pool
