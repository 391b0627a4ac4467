// Document edits as Lean applies them: UTF-16 positions, Lean's clamping, CRLF.
#include <doctest/doctest.h>

#include "leanproxy/document/store.hpp"
#include "leanproxy/document/text.hpp"
#include "leanproxy/protocol/json_scan.hpp"

using namespace leanproxy::document;
namespace json = leanproxy::json;

TEST_CASE("UTF-16 columns over UTF-8 text") {
  // ⊢ and ℕ are one UTF-16 unit (three bytes); 𝔽 is a surrogate pair (four bytes).
  std::string t = "a ⊢ ℕ 𝔽 b\nx";
  CHECK(lsp_to_offset(t, {0, 0}) == 0);
  CHECK(lsp_to_offset(t, {0, 2}) == 2);             // before ⊢
  CHECK(lsp_to_offset(t, {0, 3}) == 5);             // after ⊢
  CHECK(lsp_to_offset(t, {0, 5}) == 9);             // after ℕ
  CHECK(lsp_to_offset(t, {0, 6}) == 10);            // before 𝔽
  CHECK(lsp_to_offset(t, {0, 8}) == 14);            // after 𝔽 (two units)
  CHECK(lsp_to_offset(t, {0, 7}) == 14);            // inside the pair: Lean moves past it
  CHECK(lsp_to_offset(t, {1, 0}) == t.find('x'));
  CHECK(offset_to_lsp(t, 14).character == 8);
  CHECK(utf16_length("⊢ℕ𝔽") == 4);
}

TEST_CASE("out-of-range positions behave as in Lean") {
  std::string t = "ab\ncd";
  // A character past the end of its line runs on into the next line.
  CHECK(lsp_to_offset(t, {0, 3}) == 3);
  CHECK(lsp_to_offset(t, {0, 4}) == 4);
  // ... and stops at the end of the document.
  CHECK(lsp_to_offset(t, {0, 99}) == t.size());
  // A line past the last one is the end of the document.
  CHECK(lsp_to_offset(t, {2, 0}) == t.size());
  CHECK(lsp_to_offset(t, {7, 3}) == t.size());
  CHECK(lsp_to_offset("", {0, 5}) == 0);
  // Trailing newline: the empty last line exists.
  CHECK(lsp_to_offset("ab\n", {1, 0}) == 3);
}

TEST_CASE("replace_range follows Lean's replaceLspRange") {
  CHECK(replace_range("theorem foo : ℕ := 1", {0, 14}, {0, 15}, "Nat") == "theorem foo : Nat := 1");
  CHECK(replace_range("a𝔽b", {0, 1}, {0, 3}, "x") == "axb");
  CHECK(replace_range("ab", {0, 2}, {0, 2}, "\r\nc\r\n") == "ab\nc\n");  // CRLF in the edit
  CHECK(replace_range("ab\ncd", {5, 0}, {9, 9}, "!") == "ab\ncd!");      // append past the end
  // start after end duplicates the span between them, as Lean's extract does.
  CHECK(replace_range("abcd", {0, 3}, {0, 1}, "") == "abcbcd");
  CHECK(crlf_to_lf("a\r\nb\rc\r\n") == "a\nb\rc\n");
}

namespace {
std::string open_params(const std::string& uri, int version, const std::string& text) {
  return R"({"textDocument":{"uri":)" + json::quote(uri) + R"(,"languageId":"lean4","version":)" +
         std::to_string(version) + R"(,"text":)" + json::quote(text) + R"(},"dependencyBuildMode":"never"})";
}
std::string change_params(const std::string& uri, int version, const std::string& changes) {
  return R"({"textDocument":{"uri":)" + json::quote(uri) + R"(,"version":)" + std::to_string(version) +
         R"(},"contentChanges":)" + changes + "}";
}
}  // namespace

TEST_CASE("store applies didOpen / didChange / didClose") {
  DocumentStore s;
  CHECK(s.did_open(open_params("file:///a.lean", 1, "theorem t : 2 + 2 = 4 := by\r\n  rfl\r\n")).empty());
  const Document* d = s.find("file:///a.lean");
  REQUIRE(d);
  CHECK(d->text == "theorem t : 2 + 2 = 4 := by\n  rfl\n");
  CHECK(d->dependency_build_mode == "never");
  CHECK(s.did_change(change_params("file:///a.lean", 2,
                                   R"([{"range":{"start":{"line":0,"character":20},"end":{"line":0,"character":21}},"text":"5"},
                                       {"range":{"start":{"line":1,"character":2},"end":{"line":1,"character":5}},"text":"decide"}])"))
            .empty());
  CHECK(s.find("file:///a.lean")->text == "theorem t : 2 + 2 = 5 := by\n  decide\n");
  CHECK(s.find("file:///a.lean")->version == 2);
  // Full replacement.
  CHECK(s.did_change(change_params("file:///a.lean", 3, R"([{"text":"def x := 1\r\n"}])")).empty());
  CHECK(s.find("file:///a.lean")->text == "def x := 1\n");
  // Replay params recreate the same document.
  DocumentStore copy;
  CHECK(copy.did_open(DocumentStore::did_open_params(*s.find("file:///a.lean"))).empty());
  CHECK(copy.find("file:///a.lean")->text == "def x := 1\n");
  CHECK(copy.find("file:///a.lean")->version == 3);
  CHECK(copy.find("file:///a.lean")->dependency_build_mode == "never");
  CHECK(s.did_close(R"({"textDocument":{"uri":"file:///a.lean"}})").empty());
  CHECK(s.find("file:///a.lean") == nullptr);
}

TEST_CASE("store rejects what Lean rejects and leaves the document unchanged") {
  DocumentStore s;
  CHECK(s.did_open(open_params("file:///a.lean", 5, "abc")).empty());
  CHECK_FALSE(s.did_change(change_params("file:///never-opened.lean", 1, R"([{"text":"x"}])")).empty());
  CHECK_FALSE(s.did_change(change_params("file:///a.lean", 5, R"([{"text":"x"}])")).empty());  // outdated
  CHECK_FALSE(s.did_change(R"({"textDocument":{"uri":"file:///a.lean"},"contentChanges":[{"text":"x"}]})").empty());
  CHECK_FALSE(s.did_change(change_params("file:///a.lean", 6,
                                         R"([{"text":"ok"},{"range":{"start":{"line":0}},"text":"y"}])"))
                  .empty());
  CHECK(s.find("file:///a.lean")->text == "abc");
  CHECK(s.find("file:///a.lean")->version == 5);
  // An empty change list is accepted but, as in Lean, does not record the version.
  CHECK(s.did_change(change_params("file:///a.lean", 9, "[]")).empty());
  CHECK(s.find("file:///a.lean")->version == 5);
  CHECK_FALSE(s.did_close(R"({"textDocument":{"uri":"file:///b.lean"}})").empty());
}

TEST_CASE("documents replay in the order they were opened") {
  DocumentStore s;
  for (auto u : {"file:///z.lean", "file:///a.lean", "file:///m.lean"}) REQUIRE(s.did_open(open_params(u, 1, "")).empty());
  auto order = s.in_open_order();
  REQUIRE(order.size() == 3);
  CHECK(order[0]->uri == "file:///z.lean");
  CHECK(order[2]->uri == "file:///m.lean");
}

TEST_CASE("a replayed document keeps a CR that an edit put before a LF") {
  DocumentStore s;
  REQUIRE(s.did_open(open_params("file:///a.lean", 1, "a\nb")).empty());
  REQUIRE(s.did_change(change_params("file:///a.lean", 2,
                                     R"([{"range":{"start":{"line":0,"character":1},"end":{"line":0,"character":1}},"text":"\r"}])"))
              .empty());
  REQUIRE(s.find("file:///a.lean")->text == "a\r\nb");  // Lean holds this too
  DocumentStore replayed;
  REQUIRE(replayed.did_open(DocumentStore::did_open_params(*s.find("file:///a.lean"))).empty());
  CHECK(replayed.find("file:///a.lean")->text == "a\r\nb");
}

TEST_CASE("didOpen reads its members in any order, the first of each name") {
  DocumentStore s;
  // Keys sorted (as nlohmann writes them), the text before uri and version,
  // a duplicate key, CRLF in the text.
  CHECK(s.did_open(R"({"dependencyBuildMode":"never","textDocument":{"languageId":"lean4","text":"a\r\nb","uri":"file:///x.lean","uri":"file:///y.lean","version":3}})")
            .empty());
  const Document* d = s.find("file:///x.lean");
  REQUIRE(d);
  CHECK(d->text == "a\nb");
  CHECK(d->version == 3);
  CHECK(d->language_id == "lean4");
  CHECK(d->dependency_build_mode == std::optional<std::string>("never"));
  CHECK_FALSE(s.find("file:///y.lean"));
  CHECK(s.did_open(R"({"textDocument":{"uri":"file:///z.lean","version":1}})") == "didOpen without uri, text or version");
  CHECK(s.did_open(R"({"other":{}})") == "didOpen without textDocument");
}

TEST_CASE("didOpen reads textDocument in place: what follows it, a second one, and malformed params") {
  DocumentStore s;
  // dependencyBuildMode after textDocument; a second textDocument ignored.
  CHECK(s.did_open(R"({"textDocument":{"uri":"file:///a.lean","version":1,"text":"x"},"textDocument":{"uri":"file:///b.lean","version":1,"text":"y"},"dependencyBuildMode":"once"})")
            .empty());
  REQUIRE(s.find("file:///a.lean"));
  CHECK(s.find("file:///a.lean")->dependency_build_mode == std::optional<std::string>("once"));
  CHECK_FALSE(s.find("file:///b.lean"));
  // The first textDocument decides, also when it is not an object.
  CHECK(s.did_open(R"({"textDocument":[1,2],"textDocument":{"uri":"file:///c.lean","version":2,"text":"z"}})") ==
        "didOpen without textDocument");
  CHECK_FALSE(s.find("file:///c.lean"));
  // Broken JSON inside or after textDocument: an error, nothing stored.
  for (const char* bad : {R"({"textDocument":{"uri":"file:///d.lean","version":1,"text":"x"})",
                          R"({"textDocument":{"uri":"file:///d.lean","version":1,"text":"x"},})",
                          R"({"textDocument":{"uri":"file:///d.lean","version":1,"text":"x"} "m":1})",
                          R"({"textDocument":{"uri":"file:///d.lean","version":1,"text":"x",}})"}) {
    CAPTURE(bad);
    CHECK_FALSE(s.did_open(bad).empty());
    CHECK_FALSE(s.find("file:///d.lean"));
  }
}

TEST_CASE("the store hands out the uri it read, also for a message it rejects") {
  DocumentStore s;
  std::string uri;
  // The text before the uri (nlohmann's and Neovim's order): read in the same walk.
  CHECK(s.did_open(R"({"textDocument":{"text":"a","uri":"file:///u.lean","version":1}})", &uri).empty());
  CHECK(uri == "file:///u.lean");
  uri.clear();
  CHECK_FALSE(s.did_open(R"({"textDocument":{"uri":"file:///u.lean","version":2}})", &uri).empty());
  CHECK(uri == "file:///u.lean");  // rejected (no text), but it names the document
  CHECK(s.find("file:///u.lean")->version == 1);
  uri.clear();
  CHECK(s.did_change(R"({"contentChanges":[{"text":"b"}],"textDocument":{"uri":"file:///u.lean","version":3}})", &uri)
            .empty());
  CHECK(uri == "file:///u.lean");
  uri.clear();
  CHECK_FALSE(s.did_change(R"({"textDocument":{"uri":"file:///v.lean","version":1},"contentChanges":[]})", &uri).empty());
  CHECK(uri == "file:///v.lean");
  uri.clear();
  CHECK_FALSE(s.did_close(R"({"textDocument":{"uri":"file:///v.lean"}})", &uri).empty());
  CHECK(uri == "file:///v.lean");
  uri.clear();
  CHECK(s.did_close(R"({"textDocument":{"uri":"file:///u.lean"}})", &uri).empty());
  CHECK(uri == "file:///u.lean");
  uri = "unchanged";
  CHECK_FALSE(s.did_open(R"({"textDocument":{"text":"a","version":1}})", &uri).empty());
  CHECK(uri == "unchanged");  // no uri named: left alone
}
