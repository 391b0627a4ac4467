// In-process elaboration for the language tests: a text's diagnostics as published.
#pragma once

#include <string>
#include <vector>

#include "lang.hpp"

namespace leansim {

/// Every diagnostic of `text` (header included in its parse only), as
/// publishDiagnostics elements; `silent`: mark silent ones `isSilent`.
inline std::vector<json> diags_of(const std::string& text, Options opts = {}, bool silent = true) {
  Header h = parse_header(text);
  Env env;
  std::vector<json> out;
  for (const auto& c : elaborate(text, h.end, env, opts))
    for (const auto& d : c.diags) out.push_back(diag_to_json(text, d, silent));
  return out;
}

}  // namespace leansim
