// Per-session document store: uri → {version, text}, kept in step with what
// Lean's server holds, so the proxy can replay documents after a crash and
// key cache entries by the text the server is actually checking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace leanproxy::document {

struct Document {
  std::string uri;
  std::string language_id;
  std::int64_t version = 0;
  std::string text;  ///< after CRLF → LF, as Lean holds it
  /// Lean's didOpen extension ("always" | "once" | "never"), as sent.
  std::optional<std::string> dependency_build_mode;
  std::uint64_t open_seq = 0;  ///< orders replays as the documents were opened
};

/// Applies didOpen / didChange / didClose params (raw JSON) exactly as Lean's
/// watchdog does. Each mutator returns an empty string on success, otherwise
/// what was wrong; a rejected message leaves the store unchanged, just as
/// Lean leaves its document unchanged. `uri_out`, when given, receives the
/// document's uri as soon as the params name one, even if the message is then
/// rejected: callers reuse it rather than scan again for a uri that may follow
/// a large text (JSON objects are unordered; Neovim and nlohmann put "text"
/// before "uri").
class DocumentStore {
 public:
  std::string did_open(std::string_view params, std::string* uri_out = nullptr);
  std::string did_change(std::string_view params, std::string* uri_out = nullptr);
  std::string did_close(std::string_view params, std::string* uri_out = nullptr);

  const Document* find(std::string_view uri) const;
  std::size_t size() const { return docs_.size(); }
  /// Documents in the order they were opened.
  std::vector<const Document*> in_open_order() const;

  /// didOpen params that recreate `doc` on a fresh server.
  static std::string did_open_params(const Document& doc);

 private:
  std::unordered_map<std::string, Document> docs_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace leanproxy::document
