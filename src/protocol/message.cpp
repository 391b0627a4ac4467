// Message classification over the JSON scanner, and message builders.
#include "leanproxy/protocol/message.hpp"

#include <cstring>

#include "json_scan_inline.hpp"
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
  if (raw.empty()) return std::nullopt;
  char first = raw.front();
  if (first == '"') {
    std::string_view inner = raw.substr(1, raw.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return Id(raw, 's', inner, true);  // nothing to decode
    auto s = json::decode_string(raw);
    if (!s) return std::nullopt;
    return Id(raw, 's', *s, true);
  }
  if (first != '-' && !json::scan::is_digit(first)) return std::nullopt;
  // LSP ids are integers; keep the digits as sent (no double round-trip),
  // and their value when it fits in 64 bits (IdTable's fast path). The
  // magnitude is summed as unsigned: -2^63 fits, 2^63 does not.
  constexpr std::uint64_t limit = std::uint64_t{1} << 63;
  bool negative = first == '-', fits = true;
  std::uint64_t magnitude = 0;
  for (std::size_t k = negative; k < raw.size(); ++k) {
    char c = raw[k];
    if (c == '.' || c == 'e' || c == 'E') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (fits && magnitude > (limit - digit) / 10) fits = false;  // magnitude * 10 + digit > 2^63
    if (fits) magnitude = magnitude * 10 + digit;
  }
  Id id(raw, 'n', raw, false);
  id.has_integer_ = fits && (negative ? magnitude != 0 : magnitude < limit);  // "-0" is not 0's id
  id.integer_ = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return id;
}

Id::Id(std::string_view raw, char tag, std::string_view value, bool is_string)
    : raw_(raw), key_(value.size() + 1, tag), is_string_(is_string) {
  std::memcpy(key_.data() + 1, value.data(), value.size());
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
  if (!m.scan()) {
    std::string raw = std::move(m.raw_);
    m = Message{};
    m.raw_ = std::move(raw);
    if (json::type_of(m.raw_) != json::Type::object && json::validate(m.raw_)) {
      m.kind_ = Kind::invalid;
      m.problem_ = "message is valid JSON but not an object";
    } else {
      m.kind_ = Kind::parse_error;
      m.problem_ = "message is not valid JSON";
    }
  }
  return m;
}

namespace {
// A key against a literal of the same length: a fixed-size compare the
// compiler turns into one or two integer compares (no memcmp call).
template <std::size_t N>
bool same(std::string_view name, const char (&literal)[N]) {
  return std::memcmp(name.data(), literal, N - 1) == 0;
}

// One dispatch per member on the key's length and bytes (keys are almost
// never escaped; an escaped one is decoded once and dispatched the same way).
enum class Member { other, id, method, params, result, error, jsonrpc };
Member which(std::string_view name) {
  switch (name.size()) {
    case 2: return same(name, "id") ? Member::id : Member::other;
    case 5: return same(name, "error") ? Member::error : Member::other;
    case 6:
      if (same(name, "method")) return Member::method;
      if (same(name, "params")) return Member::params;
      if (same(name, "result")) return Member::result;
      return Member::other;
    case 7: return same(name, "jsonrpc") ? Member::jsonrpc : Member::other;
    default: return Member::other;
  }
}
}  // namespace

bool Message::scan() {
  // One pass over the object: each member's key is read and dispatched, and
  // its value validated where it stands, scalars inline.
  using namespace json::scan;
  const char* const begin = raw_.data();
  const char* const end = begin + raw_.size();
  auto span_of = [begin](const char* v, const char* e) {
    return Span{static_cast<std::size_t>(v - begin), static_cast<std::size_t>(e - v)};
  };
  bool has_id = false, has_method = false, has_result = false;
  const char* p = ws(begin, end);
  if (p >= end || *p != '{') return false;
  p = ws(p + 1, end);
  if (p < end && *p == '}') {
    ++p;
  } else {
    for (;;) {
      if (p >= end || *p != '"') return false;
      const char* k = p;
      p = string_end(p, end);
      if (!p) return false;
      // A key that matches as written has no escapes; only the others need
      // the look for a backslash (one that decodes to "id" is still "id").
      std::string_view name(k + 1, static_cast<std::size_t>(p - k - 2));
      Member member = which(name);
      if (member == Member::other && name.find('\\') != std::string_view::npos)
        if (auto decoded = json::decode_string(std::string_view(k, static_cast<std::size_t>(p - k))))
          member = which(*decoded);
      p = ws(p, end);
      if (p >= end || *p != ':') return false;
      p = ws(p + 1, end);
      const char* v = p;
      // Strings and numbers here (the method, the id, "2.0"), containers and
      // literals by the general scanner: a call per member costs more than
      // most of these values.
      if (p < end && *p == '"') p = string_end(p, end);
      else if (p < end && (*p == '-' || is_digit(*p))) p = number_end(p, end);
      else p = value_end(p, end);
      if (!p) return false;
      std::string_view value(v, static_cast<std::size_t>(p - v));
      switch (member) {
        case Member::id:
          has_id = true;
          id_span_ = span_of(v, p);
          if (*v != 'n') id_ = Id::from_validated(value);  // null (an error reply's) leaves an earlier id
          break;
        case Member::method:
          if (*v == '"') {
            std::string_view inner = value.substr(1, value.size() - 2);
            if (inner.find('\\') == std::string_view::npos) {
              method_.assign(inner);
              has_method = true;
            } else if (auto decoded = json::decode_string(value)) {
              method_ = std::move(*decoded);
              has_method = true;
            }
          }
          break;
        case Member::params: params_ = span_of(v, p); break;
        case Member::result:
          result_ = span_of(v, p);
          has_result = true;
          break;
        case Member::error: error_ = span_of(v, p); break;
        case Member::jsonrpc:  // tolerated when missing: some clients omit it
        case Member::other: break;
      }
      p = ws(p, end);
      if (p < end && *p == ',') {
        p = ws(p + 1, end);
        continue;
      }
      if (p < end && *p == '}') {
        ++p;
        break;
      }
      return false;
    }
  }
  if (ws(p, end) != end) return false;
  if (has_method) {
    if (!has_id) {
      kind_ = Kind::notification;
    } else if (id_) {
      kind_ = Kind::request;
    } else {
      kind_ = Kind::invalid;
      problem_ = "request id must be an integer or a string";
    }
  } else if (has_id && (has_result || error_.len > 0)) {
    kind_ = Kind::response;  // id may be null on an error reply
  } else {
    kind_ = Kind::invalid;
    problem_ = has_id ? "message has an id but neither method, result nor error" : "message has no method and no id";
  }
  return true;
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
