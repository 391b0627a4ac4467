// Document store: didOpen / didChange / didClose over raw params.
#include "leanproxy/document/store.hpp"

#include <algorithm>

#include "leanproxy/document/text.hpp"
#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::document {
namespace {

// The params of a parsed (validated) message: the uri is found without
// scanning past it (a full-text change carries the whole document after it).
std::optional<std::string> uri_of(std::string_view params) {
  auto raw = json::enter_path(params, {"textDocument", "uri"});
  return raw ? json::decode_scanned_string(*raw) : std::nullopt;
}

std::optional<Position> position_of(std::string_view raw) {
  auto line = json::member(raw, "line");
  auto ch = json::member(raw, "character");
  if (!line || !ch) return std::nullopt;
  auto l = json::to_int64(*line);
  auto c = json::to_int64(*ch);
  if (!l || !c || *l < 0 || *c < 0) return std::nullopt;
  return Position{static_cast<std::uint64_t>(*l), static_cast<std::uint64_t>(*c)};
}

}  // namespace

std::string DocumentStore::did_open(std::string_view params, std::string* uri_out) {
  // One walk over params that reads textDocument in place, each member the
  // first of its name (as json::member): the text, most of a large didOpen,
  // is read once, validated and decoded in the same pass.
  bool seen_td = false, has_td = false, text_seen = false;
  std::optional<std::string_view> mode, uri_raw, version_raw, lang_raw;
  std::optional<std::string> text;
  {
    json::ObjectReader r(params);
    std::string_view k;
    std::size_t at = 0;
    while (r.next_key(k, at)) {
      bool first_td = !seen_td && json::key_is(k, "textDocument");
      seen_td = seen_td || first_td;
      if (first_td && json::type_of(params.substr(at)) == json::Type::object) {
        has_td = true;
        std::string_view tds = params.substr(at);
        json::ObjectReader td(tds);
        std::string_view tk;
        std::size_t v_at = 0;
        while (td.next_key(tk, v_at)) {
          if (!text_seen && json::key_is(tk, "text")) {
            text_seen = true;
            if (v_at < tds.size() && tds[v_at] == '"') {  // else: not a string, reported below
              std::size_t v_end = 0;
              text = json::decode_string_at(tds, v_at, v_end);
              td.value_ends_at(text ? v_end : std::string_view::npos);
              continue;
            }
          }
          std::size_t v_end = json::skip_value(tds, v_at);
          td.value_ends_at(v_end);
          if (v_end == std::string_view::npos) break;
          std::string_view v = tds.substr(v_at, v_end - v_at);
          if (!uri_raw && json::key_is(tk, "uri")) uri_raw = v;
          else if (!version_raw && json::key_is(tk, "version")) version_raw = v;
          else if (!lang_raw && json::key_is(tk, "languageId")) lang_raw = v;
        }
        r.value_ends_at(td.ok() ? at + td.end() : std::string_view::npos);
        continue;
      }
      std::size_t end = json::skip_value(params, at);
      if (!mode && end != std::string_view::npos && json::key_is(k, "dependencyBuildMode"))
        mode = params.substr(at, end - at);
      r.value_ends_at(end);
    }
    if (!r.ok()) return "didOpen with malformed params";
  }
  if (!has_td) return "didOpen without textDocument";
  auto uri = uri_raw ? json::decode_string(*uri_raw) : std::nullopt;
  if (uri && uri_out) *uri_out = *uri;
  if (!uri || !text_seen || !version_raw) return "didOpen without uri, text or version";
  auto version = json::to_int64(*version_raw);
  if (!text || !version) return "didOpen with a malformed text or version";
  Document doc;
  doc.uri = std::move(*uri);
  if (lang_raw)
    if (auto s = json::decode_string(*lang_raw)) doc.language_id = std::move(*s);
  if (mode)
    if (auto s = json::decode_string(*mode)) doc.dependency_build_mode = std::move(*s);
  doc.version = *version;
  // Most texts have no CR at all: then the decoded text is already Lean's.
  if (text->find('\r') == std::string::npos) doc.text = std::move(*text);
  else doc.text = crlf_to_lf(*text);
  doc.open_seq = next_seq_++;
  // A second didOpen of an open uri replaces it (Lean restarts the worker).
  std::string key = doc.uri;
  docs_[std::move(key)] = std::move(doc);
  return {};
}

std::string DocumentStore::did_change(std::string_view params, std::string* uri_out) {
  auto uri = uri_of(params);
  if (!uri) return "didChange without textDocument.uri";
  if (uri_out) *uri_out = *uri;
  auto it = docs_.find(*uri);
  if (it == docs_.end()) return "didChange for a document that is not open: " + *uri;
  auto version_raw = json::enter_path(params, {"textDocument", "version"});
  auto version = version_raw ? json::to_int64(*version_raw) : std::nullopt;
  if (!version) return "didChange without a version number (Lean rejects it)";
  Document& doc = it->second;
  if (*version <= doc.version)
    return "didChange with outdated version " + std::to_string(*version) + " <= " + std::to_string(doc.version) +
           " (Lean rejects it)";
  auto changes = json::member(params, "contentChanges");
  if (!changes || json::type_of(*changes) != json::Type::array) return "didChange without contentChanges";

  // Apply to a copy: a malformed change in the middle must not leave half an
  // edit behind (Lean would have failed to parse the whole message).
  std::string text = doc.text;
  json::ArrayReader changes_reader(*changes);
  std::string_view change;
  std::size_t count = 0;
  while (changes_reader.next(change)) {
    ++count;
    auto new_text_raw = json::member(change, "text");
    auto new_text = new_text_raw ? json::decode_scanned_string(*new_text_raw) : std::nullopt;  // member() validated it
    if (!new_text) return "didChange with a change that has no text";
    auto range = json::member(change, "range");
    if (!range) {
      text = crlf_to_lf(*new_text);  // full replacement
      continue;
    }
    auto start_raw = json::member(*range, "start");
    auto end_raw = json::member(*range, "end");
    auto start = start_raw ? position_of(*start_raw) : std::nullopt;
    auto end = end_raw ? position_of(*end_raw) : std::nullopt;
    if (!start || !end) return "didChange with a malformed range";
    text = replace_range(text, *start, *end, *new_text);
  }
  if (!changes_reader.ok()) return "didChange with malformed contentChanges";
  // Lean returns early on an empty change list without recording the version.
  if (count == 0) return {};
  doc.text = std::move(text);
  doc.version = *version;
  return {};
}

std::string DocumentStore::did_close(std::string_view params, std::string* uri_out) {
  auto uri = uri_of(params);
  if (!uri) return "didClose without textDocument.uri";
  if (uri_out) *uri_out = *uri;
  if (docs_.erase(*uri) == 0) return "didClose for a document that is not open: " + *uri;
  return {};
}

const Document* DocumentStore::find(std::string_view uri) const {
  auto it = docs_.find(std::string(uri));
  return it == docs_.end() ? nullptr : &it->second;
}

std::vector<const Document*> DocumentStore::in_open_order() const {
  std::vector<const Document*> out;
  out.reserve(docs_.size());
  for (auto& [_, d] : docs_) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->open_seq < b->open_seq; });
  return out;
}

std::string DocumentStore::did_open_params(const Document& doc) {
  std::string p = "{\"textDocument\":{\"uri\":";
  json::append_string(p, doc.uri);
  p += ",\"languageId\":";
  json::append_string(p, doc.language_id);
  p += ",\"version\":" + std::to_string(doc.version) + ",\"text\":";
  // The server applies CRLF → LF to a didOpen; a "\r\n" that edits made in
  // the held text must survive it, so it is sent as "\r\r\n".
  std::string text;
  text.reserve(doc.text.size());
  for (std::size_t i = 0; i < doc.text.size(); ++i) {
    if (doc.text[i] == '\r' && i + 1 < doc.text.size() && doc.text[i + 1] == '\n') text.push_back('\r');
    text.push_back(doc.text[i]);
  }
  json::append_string(p, text);
  p += "}";
  if (doc.dependency_build_mode) {
    p += ",\"dependencyBuildMode\":";
    json::append_string(p, *doc.dependency_build_mode);
  }
  p += "}";
  return p;
}

}  // namespace leanproxy::document
