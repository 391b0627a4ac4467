// Small helpers shared by the cache interceptor's translation units (private
// to src/cache): member lookups on raw JSON, and texts for full-text edits.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::cache::detail {

// `obj` is always valid JSON here (a parsed message's params, or a record the
// store validated), so lookups enter objects rather than skip them whole: a
// didOpen's uri does not cost a scan of its text.
inline std::optional<std::string> str(std::string_view obj, std::initializer_list<std::string_view> path) {
  auto raw = json::enter_path(obj, path);
  return raw ? json::decode_scanned_string(*raw) : std::nullopt;
}
inline std::optional<std::int64_t> integer(std::string_view obj, std::initializer_list<std::string_view> path) {
  auto raw = json::enter_path(obj, path);
  return raw ? json::to_int64(*raw) : std::nullopt;
}

// A text for a full-text didChange: the server applies CRLF → LF to it (as
// the document store does), so a "\r\n" the edits made is sent as "\r\r\n".
inline std::string keep_crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace leanproxy::cache::detail
