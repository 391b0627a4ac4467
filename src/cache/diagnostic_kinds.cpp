// Classifying Lean's diagnostics by shape (raw JSON scan, no parse).
#include "leanproxy/cache/diagnostic_kinds.hpp"

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::cache {

namespace {
constexpr std::string_view kStaleNote = "Imports are out of date";

std::optional<std::int64_t> integer(std::string_view obj, std::initializer_list<std::string_view> path) {
  auto raw = json::path(obj, path);
  return raw ? json::to_int64(*raw) : std::nullopt;
}
}  // namespace

void classify_diagnostics(std::string_view diagnostics, DiagnosticKinds& kinds) {
  json::ArrayReader r(diagnostics);
  std::string_view d;
  while (r.next(d)) {
    auto raw = json::path(d, {"message"});
    auto msg = raw ? json::decode_string(*raw) : std::nullopt;
    if (msg && msg->find(kStaleNote) != std::string::npos) kinds.stale_note = true;
    auto range = json::member(d, "range");
    if (integer(d, {"severity"}) == 3 && range && integer(*range, {"start", "line"}) == 0 &&
        integer(*range, {"start", "character"}) == 0 && integer(*range, {"end", "line"}) == 1 &&
        integer(*range, {"end", "character"}) == 0 && !json::member(d, "leanTags"))
      kinds.build_output = true;
  }
}

}  // namespace leanproxy::cache
