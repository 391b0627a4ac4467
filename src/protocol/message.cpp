// Message classification over the JSON scanner, and message builders.
#include "leanproxy/protocol/message.hpp"

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::protocol {

std::optional<Id> Id::from_raw(std::string_view raw) {
  if (!json::validate(raw)) return std::nullopt;
  // validate() allows whitespace around the value; the id is the value alone
  // (from_validated reads the first and last bytes as the quotes).
  std::size_t b = json::skip_ws(raw, 0), e = raw.size();
  while (e > b && (raw[e - 1] == ' ' || raw[e - 1] == '\t' || raw[e - 1] == '\n' || raw[e - 1] == '\r')) --e;
  return from_validated(raw.substr(b, e - b));
}

std::optional<Id> Id::from_validated(std::string_view raw) {
  Id id;
  switch (json::type_of(raw)) {
    case json::Type::number: {
      // LSP ids are integers; keep the digits as sent (no double round-trip).
      for (char c : raw)  // a plain loop: find_first_of scans the text once per character sought
        if (c == '.' || c == 'e' || c == 'E') return std::nullopt;
      id.raw_.assign(raw);
      id.key_.reserve(raw.size() + 1);
      id.key_.push_back('n');
      id.key_.append(raw);
      return id;
    }
    case json::Type::string: {
      std::string_view inner = raw.substr(1, raw.size() - 2);
      id.raw_.assign(raw);
      id.key_.reserve(raw.size());
      id.key_.push_back('s');
      if (inner.find('\\') == std::string_view::npos) {
        id.key_.append(inner);  // nothing to decode
      } else {
        auto s = json::decode_string(raw);
        if (!s) return std::nullopt;
        id.key_.append(*s);
      }
      id.is_string_ = true;
      return id;
    }
    default: return std::nullopt;
  }
}

Id Id::number(std::int64_t n) { return *from_raw(std::to_string(n)); }
Id Id::string(std::string_view s) { return *from_raw(json::quote(s)); }

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::request: return "request";
    case Kind::notification: return "notification";
    case Kind::response: return "response";
    case Kind::invalid: return "invalid";
    case Kind::parse_error: return "parse error";
  }
  return "?";
}

Message Message::parse(std::string body) {
  Message m;
  m.raw_ = std::move(body);
  std::string_view s(m.raw_);
  json::ObjectReader r(s);
  if (json::type_of(s) != json::Type::object) {
    if (json::validate(s)) {
      m.kind_ = Kind::invalid;
      m.problem_ = "message is valid JSON but not an object";
    } else {
      m.kind_ = Kind::parse_error;
      m.problem_ = "message is not valid JSON";
    }
    return m;
  }
  auto offset = [&](std::string_view v) { return Span{static_cast<std::size_t>(v.data() - s.data()), v.size()}; };
  bool has_id = false, has_method = false, has_result = false, has_jsonrpc = false;
  // One dispatch per member on the key's length and bytes (keys are almost
  // never escaped; an escaped one is decoded once and dispatched the same way).
  enum class Member { other, id, method, params, result, error, jsonrpc };
  auto which = [](std::string_view name) {
    switch (name.size()) {
      case 2: return name == "id" ? Member::id : Member::other;
      case 5: return name == "error" ? Member::error : Member::other;
      case 6:
        if (name == "method") return Member::method;
        if (name == "params") return Member::params;
        if (name == "result") return Member::result;
        return Member::other;
      case 7: return name == "jsonrpc" ? Member::jsonrpc : Member::other;
      default: return Member::other;
    }
  };
  std::string_view k, v;
  while (r.next(k, v)) {
    // A key that matches as written has no escapes; only the others need
    // the look for a backslash (one that decodes to "id" is still "id").
    std::string_view name = k.substr(1, k.size() - 2);
    Member member = which(name);
    if (member == Member::other && name.find('\\') != std::string_view::npos) {
      auto decoded = json::decode_string(k);
      if (decoded) member = which(*decoded);
    }
    switch (member) {
      case Member::id:
        has_id = true;
        m.id_span_ = offset(v);
        if (json::type_of(v) != json::Type::null) m.id_ = Id::from_validated(v);
        break;
      case Member::method:
        if (json::type_of(v) == json::Type::string) {
          std::string_view inner = v.substr(1, v.size() - 2);
          if (inner.find('\\') == std::string_view::npos) {
            m.method_.assign(inner);
            has_method = true;
          } else if (auto name = json::decode_string(v)) {
            m.method_ = std::move(*name);
            has_method = true;
          }
        }
        break;
      case Member::params: m.params_ = offset(v); break;
      case Member::result:
        m.result_ = offset(v);
        has_result = true;
        break;
      case Member::error: m.error_ = offset(v); break;
      case Member::jsonrpc: has_jsonrpc = true; break;
      case Member::other: break;
    }
  }
  if (!r.ok() || json::skip_ws(s, r.end()) != s.size()) {
    std::string raw = std::move(m.raw_);
    m = Message{};
    m.raw_ = std::move(raw);
    m.kind_ = Kind::parse_error;
    m.problem_ = "message is not valid JSON";
    m.id_.reset();
    return m;
  }
  (void)has_jsonrpc;  // tolerated when missing: some clients omit it
  if (has_method) {
    if (!has_id) {
      m.kind_ = Kind::notification;
    } else if (m.id_) {
      m.kind_ = Kind::request;
    } else {
      m.kind_ = Kind::invalid;
      m.problem_ = "request id must be an integer or a string";
    }
  } else if (has_id && (has_result || m.error_.len > 0)) {
    m.kind_ = Kind::response;  // id may be null on an error reply
  } else {
    m.kind_ = Kind::invalid;
    m.problem_ = has_id ? "message has an id but neither method, result nor error" : "message has no method and no id";
  }
  return m;
}

std::string Message::with_id(std::string_view new_id_raw) const {
  std::string out;
  out.reserve(raw_.size() + new_id_raw.size());
  out.append(raw_, 0, id_span_.pos).append(new_id_raw).append(raw_, id_span_.pos + id_span_.len);
  return out;
}

std::string Message::with_empty_params() const {
  std::size_t close = raw_.rfind('}');
  std::string out(raw_, 0, close);
  // The object has at least "method", so a separating comma is always needed.
  out.append(",\"params\":{}").append(raw_, close);
  return out;
}

std::string make_request(std::string_view id_raw, std::string_view method, std::string_view params_raw) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out.append(id_raw).append(",\"method\":");
  json::append_string(out, method);
  if (!params_raw.empty()) out.append(",\"params\":").append(params_raw);
  out.push_back('}');
  return out;
}

std::string make_notification(std::string_view method, std::string_view params_raw) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"method\":";
  json::append_string(out, method);
  out.append(",\"params\":").append(params_raw).push_back('}');
  return out;
}

std::string make_result(std::string_view id_raw, std::string_view result_raw) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out.append(id_raw).append(",\"result\":").append(result_raw).push_back('}');
  return out;
}

std::string make_error(std::string_view id_raw, int code, std::string_view message) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out.append(id_raw).append(",\"error\":{\"code\":").append(std::to_string(code)).append(",\"message\":");
  json::append_string(out, message);
  out.append("}}");
  return out;
}

std::string make_log_message(int type, std::string_view message, bool show) {
  std::string params = "{\"type\":" + std::to_string(type) + ",\"message\":";
  json::append_string(params, message);
  params.push_back('}');
  return make_notification(show ? "window/showMessage" : "window/logMessage", params);
}

}  // namespace leanproxy::protocol
