// Incremental diagnostics (Lean 4.31+): `isIncremental` publishes only for clients that advertise support.
#include <doctest/doctest.h>

#include "driver.hpp"

using namespace simtest;

namespace {

const std::string kText = "#check x1\n#check x2\ndef a : Nat := 1\n#check x3\n";

std::vector<std::string> messages(const json& diags) {
  std::vector<std::string> out;
  for (const auto& d : diags) out.push_back(d["message"]);
  return out;
}

json change(const std::string& uri, int version, const std::string& text) {
  return {{"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", version}}},
                      {"contentChanges", json::array({{{"text", text}}})}}}};
}

}  // namespace

TEST_CASE("incremental diagnostics: first publish of a version full, later ones only the new diagnostics") {
  TempDir dir;
  Server s({bin("lean"), "--server"}, dir.path);
  s.initialize_with({{"silentDiagnosticSupport", true}, {"incrementalDiagnosticSupport", true}});
  std::string uri = "file:///inc.lean";
  s.open(uri, kText);
  auto pubs = publishes(s.wait_diags(uri, 1), 1);
  REQUIRE(pubs.size() == 4);  // empty, x1, x2, final (x3)
  CHECK(pubs[0]["isIncremental"] == false);
  CHECK(pubs[0]["diagnostics"].empty());
  for (std::size_t i = 1; i < pubs.size(); ++i) {
    CHECK(pubs[i]["isIncremental"] == true);
    CHECK(pubs[i]["diagnostics"].size() == 1);  // only what is new since the last publish
  }
  CHECK(messages(accumulate(pubs)) == std::vector<std::string>{"unknown identifier 'x1'", "unknown identifier 'x2'",
                                                               "unknown identifier 'x3'"});
  // A new version starts over with a full (here empty) publish.
  s.send(change(uri, 2, "#check y\n"));
  auto v2 = publishes(s.wait_diags(uri, 2), 2);
  REQUIRE(v2.size() == 2);
  CHECK(v2[0] == json{{"uri", uri}, {"version", 2}, {"diagnostics", json::array()}, {"isIncremental", false}});
  CHECK(v2[1]["isIncremental"] == true);
  CHECK(messages(accumulate(v2)) == std::vector<std::string>{"unknown identifier 'y'"});
}

TEST_CASE("incremental diagnostics: the same final set as a full-set client / no field without the capability") {
  TempDir dir;
  json full_set;
  {
    Server s({bin("lean"), "--server"}, dir.path);
    s.initialize(true);
    s.open("file:///a.lean", kText);
    auto pubs = publishes(s.wait_diags("file:///a.lean", 1), 1);
    for (const auto& p : pubs) CHECK_FALSE(p.contains("isIncremental"));
    full_set = pubs.back()["diagnostics"];
  }
  Server s({bin("lean"), "--server"}, dir.path);
  s.initialize_with({{"silentDiagnosticSupport", true}, {"incrementalDiagnosticSupport", true}});
  s.open("file:///a.lean", kText);
  CHECK(accumulate(publishes(s.wait_diags("file:///a.lean", 1), 1)) == full_set);
}
