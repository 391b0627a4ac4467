// Fuzzes the document model: DocumentStore over didOpen / didChange / didClose
// params, and the UTF-16 position arithmetic under it (lsp_to_offset,
// offset_to_lsp, replace_range, CRLF).
//
// Input: lines; the first byte of a line says what it is.
//   o<json>  didOpen params      c<json>  didChange params     x<json>  didClose params
//   anything else: an edit made from the bytes, applied to fuzz.lean through a
//   didChange the fuzzer writes: bytes 0-3 give start/end positions (0xff: far
//   out of range), the rest is the new text ('|' = "\n", 0x01 = "\r\n").
// Checks: a rejected message leaves the store unchanged; an edit gives what an
// independent model of Lean's replaceLspRange gives; offsets never exceed the
// text and land on code point boundaries; positions round-trip; didOpen params
// written for a replay recreate the document exactly.
#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_common.hpp"
#include "leanproxy/document/store.hpp"
#include "leanproxy/document/text.hpp"
#include "leanproxy/protocol/json_scan.hpp"

namespace json = leanproxy::json;
using namespace leanproxy::document;

namespace {

constexpr std::string_view kUri = "file:///fuzz.lean";

// --- an independent model: segment the whole text into code points first ---
struct Cp {
  std::size_t start, utf16;
  bool newline;
};

std::vector<Cp> segment(std::string_view t) {
  std::vector<Cp> out;
  for (std::size_t i = 0; i < t.size();) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    std::size_t n = c < 0x80 ? 1 : c >= 0xC0 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF8 ? 4 : 0;
    bool ok = n > 0 && i + n <= t.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(t[i + k]) & 0xC0) == 0x80;
    if (!ok) n = 1;
    out.push_back({i, ok && n == 4 ? 2u : 1u, t[i] == '\n'});
    i += n;
  }
  return out;
}

std::size_t model_offset(std::string_view t, Position p) {
  auto cps = segment(t);
  std::size_t idx = 0;
  if (p.line > 0) {
    std::uint64_t seen = 0;
    idx = cps.size();
    for (std::size_t k = 0; k < cps.size(); ++k)
      if (cps[k].newline && ++seen == p.line) { idx = k + 1; break; }
    if (seen < p.line) return t.size();
  }
  for (std::uint64_t units = p.character; units > 0 && idx < cps.size(); ++idx)
    units -= std::min<std::uint64_t>(units, cps[idx].utf16);
  return idx < cps.size() ? cps[idx].start : t.size();
}

std::string model_crlf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out.push_back(s[i]);
  return out;
}

std::string model_replace(std::string_view t, Position a, Position b, std::string_view repl) {
  std::size_t x = model_offset(t, a), y = model_offset(t, b);
  return std::string(t.substr(0, x)) + model_crlf(repl) + std::string(t.substr(y));
}

// --- checks on one text ---
void check_positions(std::string_view t, fuzz::Rng& rng) {
  auto cps = segment(t);
  std::vector<bool> boundary(t.size() + 1, false);
  for (auto& c : cps) boundary[c.start] = true;
  boundary[t.size()] = true;
  for (int k = 0; k < 8; ++k) {
    Position p{rng.below(4) == 0 ? rng.next() : rng.below(8), rng.below(4) == 0 ? rng.next() : rng.below(40)};
    std::size_t off = lsp_to_offset(t, p);
    FUZZ_CHECK(off <= t.size(), "lsp_to_offset beyond the end");
    FUZZ_CHECK(boundary[off], "lsp_to_offset inside a code point: " + std::to_string(off));
    FUZZ_CHECK(off == model_offset(t, p), "lsp_to_offset(" + std::to_string(p.line) + "," + std::to_string(p.character) +
                                              ") = " + std::to_string(off) + ", model says " +
                                              std::to_string(model_offset(t, p)) + " in " + fuzz::show(t));
    // A boundary offset → position → the same offset.
    std::size_t o = cps.empty() ? 0 : (rng.below(8) == 0 ? t.size() : cps[rng.below(cps.size())].start);
    Position q = offset_to_lsp(t, o);
    FUZZ_CHECK(lsp_to_offset(t, q) == o, "offset " + std::to_string(o) + " -> (" + std::to_string(q.line) + "," +
                                             std::to_string(q.character) + ") -> " +
                                             std::to_string(lsp_to_offset(t, q)) + " in " + fuzz::show(t));
  }
  std::size_t units = 0;
  for (auto& c : cps) units += c.utf16;
  FUZZ_CHECK(utf16_length(t) == units, "utf16_length differs from the model");
}

using Snapshot = std::map<std::string, std::tuple<std::int64_t, std::string, std::string, std::optional<std::string>, std::uint64_t>>;

Snapshot snapshot(const DocumentStore& s) {
  Snapshot out;
  for (auto* d : s.in_open_order()) out[d->uri] = {d->version, d->text, d->language_id, d->dependency_build_mode, d->open_seq};
  return out;
}

void check_replay(const DocumentStore& s) {
  for (auto* d : s.in_open_order()) {
    DocumentStore fresh;
    std::string params = DocumentStore::did_open_params(*d);
    FUZZ_CHECK(json::validate(params), "replay params are not JSON");
    FUZZ_CHECK(fresh.did_open(params).empty(), "replay didOpen rejected");
    const Document* r = fresh.find(d->uri);
    FUZZ_CHECK(r, "replayed document not found");
#ifndef LEANPROXY_FUZZ_SKIP_KNOWN
    FUZZ_CHECK(r->text == d->text, "replayed text differs from the stored text: stored " + fuzz::show(d->text) +
                                       ", a restarted server gets " + fuzz::show(r->text));
#endif
    FUZZ_CHECK(r->version == d->version && r->language_id == d->language_id &&
                   r->dependency_build_mode == d->dependency_build_mode,
               "replayed version / languageId / dependencyBuildMode differ");
  }
}

Position pos_of(unsigned char a, unsigned char b, fuzz::Rng& rng) {
  return {a == 0xff ? rng.next() >> (rng.below(64)) : a % 8, b == 0xff ? rng.next() >> (rng.below(64)) : b % 64};
}

std::string unescape_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\n';
    else if (c == '\x01') out += "\r\n";
    else out += c;
  }
  return out;
}

std::string pos_json(Position p) {
  return "{\"line\":" + std::to_string(static_cast<std::int64_t>(p.line & 0x7fffffffffffffffull)) +
         ",\"character\":" + std::to_string(static_cast<std::int64_t>(p.character & 0x7fffffffffffffffull)) + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::Rng rng(fuzz::hash(in));
  DocumentStore store;
  std::int64_t version = 0;
  std::size_t ops = 0;
  for (std::size_t i = 0; i <= in.size() && ops < 64; ++ops) {
    std::size_t nl = in.find('\n', i);
    if (nl == std::string_view::npos) nl = in.size();
    std::string_view line = in.substr(i, nl - i);
    i = nl + 1;
    if (line.empty()) continue;

    Snapshot before = snapshot(store);
    std::string_view params = line.substr(1);
    std::string err;
    bool structured = false;
    std::string expected;
    switch (line[0]) {
      case 'o': err = store.did_open(params); break;
      case 'c': err = store.did_change(params); break;
      case 'x': err = store.did_close(params); break;
      default: {
        structured = true;
        const Document* d = store.find(kUri);
        std::string text = unescape_text(line.size() > 4 ? line.substr(4) : std::string_view{});
        if (!d) {
          std::string p = "{\"textDocument\":{\"uri\":" + json::quote(kUri) +
                          ",\"languageId\":\"lean4\",\"version\":" + std::to_string(++version) +
                          ",\"text\":" + json::quote(text) + "}}";
          err = store.did_open(p);
          FUZZ_CHECK(err.empty(), "didOpen written by the fuzzer rejected: " + err);
          expected = model_crlf(text);
        } else if (d->version >= std::numeric_limits<std::int64_t>::max() - 1) {
          structured = false;  // no later version exists
          break;
        } else {
          auto b = [&](std::size_t k) { return k < line.size() ? static_cast<unsigned char>(line[k]) : 0; };
          Position a = pos_of(b(0), b(1), rng), e = pos_of(b(2), b(3), rng);
          a.line &= 0x7fffffffffffffffull; a.character &= 0x7fffffffffffffffull;
          e.line &= 0x7fffffffffffffffull; e.character &= 0x7fffffffffffffffull;
          version = std::max(version, d->version) + 1;
          std::string change = "{\"range\":{\"start\":" + pos_json(a) + ",\"end\":" + pos_json(e) +
                               "},\"text\":" + json::quote(text) + "}";
          if (rng.below(8) == 0) change = "{\"text\":" + json::quote(text) + "}";  // full replacement
          std::string p = "{\"textDocument\":{\"uri\":" + json::quote(kUri) + ",\"version\":" +
                          std::to_string(version) + "},\"contentChanges\":[" + change + "]}";
          expected = change[2] == 'r' ? model_replace(d->text, a, e, text) : model_crlf(text);
          FUZZ_CHECK(replace_range(d->text, a, e, text) == model_replace(d->text, a, e, text),
                     "replace_range differs from the model");
          err = store.did_change(p);
          FUZZ_CHECK(err.empty(), "didChange written by the fuzzer rejected: " + err);
        }
        break;
      }
    }
    if (!err.empty()) {
      FUZZ_CHECK(snapshot(store) == before, "a rejected message changed the store: " + err);
    } else if (structured) {
      const Document* d = store.find(kUri);
      FUZZ_CHECK(d && d->text == expected, "edit result " + fuzz::show(d ? d->text : "(closed)") + ", model says " +
                                               fuzz::show(expected));
    }
    for (auto* d : store.in_open_order()) {
      check_positions(d->text, rng);
      FUZZ_CHECK(d == store.find(d->uri), "find() and in_open_order() disagree");
    }
    check_replay(store);
  }
  // Lean's own arithmetic on the raw input as a document.
  check_positions(in, rng);
  FUZZ_CHECK(crlf_to_lf(in) == model_crlf(in), "crlf_to_lf differs from the model");
  return 0;
}
