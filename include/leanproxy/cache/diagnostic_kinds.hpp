// What one of Lean's diagnostics says about the version it belongs to, beyond
// its text: the rules that keep a result out of the cache, shared by editor
// sessions and agent checks.
#pragma once

#include <string_view>

namespace leanproxy::cache {

struct DiagnosticKinds {
  /// Lean's "Imports are out of date" note (sticky for the worker's life).
  bool stale_note = false;
  /// `lake setup-file` output relayed by the worker: an info diagnostic on
  /// 0:0–1:0 without leanTags (Lean's `setupImports`).
  bool build_output = false;
};

/// Adds what the diagnostics array `diagnostics` (raw JSON) says to `kinds`.
void classify_diagnostics(std::string_view diagnostics, DiagnosticKinds& kinds);

}  // namespace leanproxy::cache
