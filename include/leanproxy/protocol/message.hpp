// JSON-RPC messages kept as their original bytes plus the few fields routing
// reads (kind, id, method, params), and builders for the messages the proxy
// writes itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leanproxy::protocol {

/// LSP / JSON-RPC / Lean error codes.
namespace error_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int server_not_initialized = -32002;
inline constexpr int request_cancelled = -32800;
inline constexpr int content_modified = -32801;
inline constexpr int rpc_needs_reconnect = -32900;  // Lean
inline constexpr int worker_exited = -32901;        // Lean
inline constexpr int worker_crashed = -32902;       // Lean
}  // namespace error_code

/// A request id exactly as sent. Ids compare by JSON value: 7 and "7" differ,
/// "\u0061" equals "a"; an integer id keeps all its digits (never a double).
class Id {
 public:
  Id() = default;
  /// The id `raw` spells: a JSON integer or string, whitespace around it
  /// dropped; nullopt for anything else.
  static std::optional<Id> from_raw(std::string_view raw);
  /// from_raw() for a value already validated as JSON, with no whitespace
  /// around it (a message's own id span).
  static std::optional<Id> from_validated(std::string_view raw);
  static Id number(std::int64_t n);
  static Id string(std::string_view s);

  const std::string& raw() const { return raw_; }   ///< JSON text, as sent
  const std::string& key() const { return key_; }   ///< canonical map key
  bool is_string() const { return is_string_; }
  /// The value of an integer id that fits in 64 bits (not "-0", whose key
  /// differs from "0"'s); nullopt for any other id.
  std::optional<std::int64_t> integer() const {
    return has_integer_ ? std::optional<std::int64_t>(integer_) : std::nullopt;
  }
  /// The decoded string value (empty for numbers).
  std::string_view string_value() const { return is_string_ ? std::string_view(key_).substr(1) : std::string_view{}; }

  friend bool operator==(const Id& a, const Id& b) { return a.key_ == b.key_; }

 private:
  /// `raw` as sent; the key is `tag` followed by `value`.
  Id(std::string_view raw, char tag, std::string_view value, bool is_string);
  std::string raw_;
  std::string key_;  // 'n' + digits, or 's' + decoded string
  bool is_string_ = false;
  bool has_integer_ = false;
  std::int64_t integer_ = 0;
};

enum class Kind {
  request,       ///< method + id
  notification,  ///< method, no id
  response,      ///< id + result or error
  invalid,       ///< valid JSON, but not a JSON-RPC message
  parse_error,   ///< not JSON at all
};

const char* kind_name(Kind k);

/// A message body and the fields routing needs. Spans are offsets into
/// `raw()`, so moving a Message never invalidates them.
class Message {
 public:
  /// Classifies `body`; never throws. Invalid input yields kind parse_error or
  /// invalid with `problem()` saying why.
  static Message parse(std::string body);

  Kind kind() const { return kind_; }
  const std::string& raw() const { return raw_; }
  std::string&& take_raw() && { return std::move(raw_); }
  const std::optional<Id>& id() const { return id_; }
  const std::string& method() const { return method_; }
  /// Moves the method name out (the message is being consumed).
  std::string take_method() && { return std::move(method_); }
  bool has_params() const { return params_.len > 0; }
  std::string_view params() const { return span(params_); }
  std::string_view result() const { return span(result_); }
  std::string_view error() const { return span(error_); }
  bool is_error() const { return error_.len > 0; }
  const std::string& problem() const { return problem_; }

  /// The same message with its id replaced by `new_id_raw` (other bytes kept).
  std::string with_id(std::string_view new_id_raw) const;
  /// The same notification with `"params":{}` added (Lean treats a
  /// notification without params as a fatal protocol error).
  std::string with_empty_params() const;

 private:
  struct Span {
    std::size_t pos = 0, len = 0;
  };
  std::string_view span(Span s) const { return std::string_view(raw_).substr(s.pos, s.len); }
  /// Reads raw_ into the fields above; false when it is not a JSON object.
  bool scan();

  std::string raw_;
  Kind kind_ = Kind::invalid;
  std::optional<Id> id_;
  Span id_span_;
  std::string method_;
  Span params_, result_, error_;
  std::string problem_;
};

// Builders. Raw arguments are inserted verbatim and must be valid JSON.
/// Empty `params_raw` omits "params" (as clients do for `shutdown`; Lean's
/// parser accepts only an object or array there, not null).
std::string make_request(std::string_view id_raw, std::string_view method, std::string_view params_raw);
std::string make_notification(std::string_view method, std::string_view params_raw);
std::string make_result(std::string_view id_raw, std::string_view result_raw);
/// An error reply; `id_raw` "null" when the id is unknown.
std::string make_error(std::string_view id_raw, int code, std::string_view message);
/// `window/logMessage` / `window/showMessage` (type 1 error … 4 log).
std::string make_log_message(int type, std::string_view message, bool show = false);

}  // namespace leanproxy::protocol
