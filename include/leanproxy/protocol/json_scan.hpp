// A validating, allocation-free JSON scanner: finds the members routing needs
// as raw byte spans, so untouched messages are forwarded as their own bytes.
//
// Why not a DOM: nlohmann parses a 100 KB didOpen in ~720 µs; scanning the same
// bytes once for validity and member spans costs a small fraction of that, and
// a raw span keeps every number (a 64-bit id) and every byte exactly as sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leanproxy::json {

inline constexpr std::size_t max_depth = 512;

enum class Type { object, array, string, number, boolean, null, invalid };

/// Returns the index one past the JSON value starting at `i` (leading
/// whitespace skipped), validating it completely (RFC 8259 grammar, nesting at
/// most max_depth). Returns npos when the value is invalid or truncated.
std::size_t skip_value(std::string_view s, std::size_t i);

/// True if `text` is exactly one JSON value with optional surrounding whitespace.
bool validate(std::string_view text);

/// Index of the first non-whitespace byte at or after `i` (s.size() if none).
/// Inline: called between every two tokens, and most calls find no space.
inline std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size()) {
    char c = s[i];
    if (c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r')) break;
    ++i;
  }
  return i;
}

/// The type of a raw value (judged by its first byte; the value must have been
/// validated already).
Type type_of(std::string_view raw);

/// Iterates the members of a raw object value, validating as it goes.
/// Usage: `ObjectReader r(obj); while (r.next(k, v)) ...; if (!r.ok()) bad`.
class ObjectReader {
 public:
  explicit ObjectReader(std::string_view object);
  /// `key` is the raw key with its quotes; `value` the raw value.
  bool next(std::string_view& key, std::string_view& value);
  /// next() that leaves the value to the caller, who reads it from
  /// `value_at` (an index into the object) and must say where it ended with
  /// value_ends_at() before the next call: a value read in place (an object
  /// walked member by member) is then not scanned a second time.
  bool next_key(std::string_view& key, std::size_t& value_at);
  /// One past the value next_key() began; npos (the caller found it invalid) fails the reader.
  void value_ends_at(std::size_t end);
  bool ok() const { return ok_; }
  /// Index one past the closing brace, once next() has returned false and ok().
  std::size_t end() const { return i_; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
  bool ok_ = true;
  bool first_ = true;
  bool done_ = false;
};

/// Iterates the elements of a raw array value, validating as it goes.
class ArrayReader {
 public:
  explicit ArrayReader(std::string_view array);
  bool next(std::string_view& value);
  bool ok() const { return ok_; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
  bool ok_ = true;
  bool first_ = true;
  bool done_ = false;
};

/// True if the raw key (with quotes) decodes to `name`.
bool key_is(std::string_view raw_key, std::string_view name);

/// The raw value of member `name` of a raw object, if present (first match).
std::optional<std::string_view> member(std::string_view object, std::string_view name);

/// Follows a path of member names: member(member(obj, a), b)...
std::optional<std::string_view> path(std::string_view object, std::initializer_list<std::string_view> names);

/// path() over JSON already known to be valid (a parsed Message's params):
/// each object on the way is entered where its key is found rather than
/// skipped whole first, so `textDocument.uri` costs the bytes before it, not
/// a 100 KB document text after it. The same answer as path() on valid
/// input; on invalid input nullopt or some value, never a read outside `object`.
std::optional<std::string_view> enter_path(std::string_view object, std::initializer_list<std::string_view> names);

/// Decodes a raw string value (with quotes) to UTF-8. Lone surrogate escapes
/// become U+FFFD. nullopt if `raw` is not a valid string literal.
std::optional<std::string> decode_string(std::string_view raw);
/// Decodes the string literal starting at s[i] (a quote) in one pass that
/// also validates it and finds its end: `end` is set past the closing quote.
/// nullopt if there is no valid string literal at i.
std::optional<std::string> decode_string_at(std::string_view s, std::size_t i, std::size_t& end);
/// decode_string() of a value the readers here returned (they validated it):
/// no second validation pass over a large text. nullopt if it is not a string.
std::optional<std::string> decode_scanned_string(std::string_view raw);

/// A raw integer value, if it is one that fits.
std::optional<std::int64_t> to_int64(std::string_view raw);

/// A raw `true` / `false`.
std::optional<bool> to_bool(std::string_view raw);

/// Appends `utf8` as a JSON string literal (with quotes). Bytes that are not
/// valid UTF-8 are passed through unchanged (the peer sent them; we only echo).
void append_string(std::string& out, std::string_view utf8);
std::string quote(std::string_view utf8);

}  // namespace leanproxy::json
