// Parsing and judging agent checks (nlohmann: small messages, once per check).
#include "leanproxy/pool/check_request.hpp"

#include <nlohmann/json.hpp>

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

Verdict judge(const std::string& diagnostics_json, const std::string& text) {
  Verdict v;
  json d = json::parse(diagnostics_json, nullptr, false);
  if (!d.is_array()) {
    v.ok = false;
    v.reasons.push_back("no diagnostics");
    return v;
  }
  for (const auto& x : d) {
    if (!x.is_object()) continue;
    int sev = x.value("severity", 1);
    std::string msg = x.value("message", "");
    if (sev == 1) {
      v.ok = false;
      v.reasons.push_back("error: " + msg.substr(0, msg.find('\n')));
    } else if (msg.find("declaration uses 'sorry'") != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("uses sorry");
    }
  }
  // Options that switch checking off make any "no errors" meaningless.
  for (const char* off : {"debug.skipKernelTC true", "debug.skipKernelTC := true"})
    if (text.find(off) != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("kernel checking disabled (debug.skipKernelTC)");
      break;
    }
  return v;
}

std::string check_result_json(const CheckOutcome& o, const std::string& text, bool* ok) {
  Verdict v = judge(o.diagnostics, text);
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
  r["diagnostics"] = json::parse(o.diagnostics, nullptr, false);
  if (r["diagnostics"].is_discarded()) r["diagnostics"] = json::array();
  r["goals"] = json::parse(o.goals, nullptr, false);
  if (r["goals"].is_discarded()) r["goals"] = json::array();
  r["cached"] = o.cached;
  r["elapsedMs"] = o.elapsed_ms;
  r["ok"] = v.ok;
  r["reasons"] = v.reasons;
  r["timedOut"] = o.timed_out;
  return r.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace leanproxy::pool
