// What the check suites share: sending `$/leanProxy/check` and reading its diagnostics.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"

namespace checktest {

using cachetest::json;

/// The result of a `$/leanProxy/check` (fails the test on an error reply).
inline json check(cachetest::Peer& p, const json& params, int timeout_ms = 30000) {
  json r = p.request("$/leanProxy/check", params, timeout_ms);
  REQUIRE_MESSAGE(r.contains("result"), r.dump());
  return r["result"];
}

inline bool has_message(const json& diags, const std::string& needle) {
  for (const auto& d : diags)
    if (d.value("message", "").find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace checktest
