// Lean header parsing, dependency fingerprints and key derivation.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "leanproxy/cache/deps.hpp"
#include "leanproxy/cache/key.hpp"
#include "leanproxy/cache/sha256.hpp"
#include "leanproxy/lean/header.hpp"

using namespace leanproxy;
namespace fs = std::filesystem;

TEST_CASE("headers: imports, modifiers, comments") {
  auto h = lean::parse_header(
      "module\n-- a comment\n/- block /- nested -/ -/\npublic import Mathlib.Data.Nat\nimport all Foo.«Bar baz»\n"
      "meta import Lean.Elab\nimport Std\n\ntheorem t : 1 = 1 := rfl\nimport NotHeader\n");
  CHECK(h.is_module);
  REQUIRE(h.imports.size() == 4);
  CHECK(h.imports[0] == "Mathlib.Data.Nat");
  CHECK(h.imports[1] == "Foo.«Bar baz»");
  CHECK(h.imports[2] == "Lean.Elab");
  CHECK(h.imports[3] == "Std");
  CHECK(h.end == std::string_view("module\n-- a comment\n/- block /- nested -/ -/\npublic import Mathlib.Data.Nat\nimport all Foo.«Bar baz»\nmeta import Lean.Elab\nimport Std").size());
  CHECK(lean::module_to_path("Foo.«Bar baz».C") == "Foo/Bar baz/C");
  CHECK(lean::parse_header("prelude\nimport Init.Core\ndef x := 1").prelude);
  CHECK(lean::parse_header("def x := 1").imports.empty());
  CHECK(lean::parse_header("").end == 0);
}

namespace {
struct Workspace {
  fs::path root;
  Workspace() {
    root = fs::temp_directory_path() / ("llp-deps-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "A");
    fs::create_directories(root / ".lake/build/lib/lean/A");
    fs::create_directories(root / "toolchain/lib/lean");
    write("A/B.lean", "import A.C\ndef b := 1\n");
    write("A/C.lean", "def c := 2\n");
    write(".lake/build/lib/lean/A/B.olean", "olean B");
    write(".lake/build/lib/lean/A/B.trace", R"({"schemaVersion":"1","depHash":"111","inputs":[]})");
    write(".lake/build/lib/lean/A/C.olean", "olean C");
    write(".lake/build/lib/lean/A/C.trace", R"({"schemaVersion":"1","depHash":"222","inputs":[]})");
    write("toolchain/lib/lean/Init.olean", "init");
  }
  ~Workspace() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root / rel, std::ios::trunc) << text; }
  cache::SearchPath path() const {
    return {{(root / ".lake/build/lib/lean").string(), (root / "toolchain/lib/lean").string()},
            {root.string()},
            root.string(),
            {(root / "toolchain/lib/lean").string()}};
  }
};
}  // namespace

TEST_CASE("dependency fingerprints follow traces and workspace sources") {
  Workspace ws;
  cache::DepFingerprinter fp(ws.path());
  auto base = fp.fingerprint({"A.B", "Init"});
  REQUIRE(base.cacheable);
  CHECK(base.modules == std::vector<std::string>{"A.B", "A.C", "Init"});  // C found through B's source

  // Same inputs, same digest (memoised or not).
  CHECK(fp.fingerprint({"A.B", "Init"}).digest == base.digest);
  // A transitive import edited but not rebuilt changes the fingerprint.
  ws.write("A/C.lean", "def c := 3\n");
  auto edited = fp.fingerprint({"A.B", "Init"});
  CHECK(edited.digest != base.digest);
  ws.write("A/C.lean", "def c := 2\n");
  CHECK(fp.fingerprint({"A.B", "Init"}).digest == base.digest);
  // A rebuild that changes a depHash changes it; one that rewrites the same trace does not.
  ws.write(".lake/build/lib/lean/A/C.trace", R"({"schemaVersion":"1","depHash":"222","inputs":[],"log":[]})");
  CHECK(fp.fingerprint({"A.B", "Init"}).digest == base.digest);
  ws.write(".lake/build/lib/lean/A/C.trace", R"({"schemaVersion":"1","depHash":"223","inputs":[]})");
  CHECK(fp.fingerprint({"A.B", "Init"}).digest != base.digest);
  // Without a trace, the olean bytes count.
  fs::remove(ws.root / ".lake/build/lib/lean/A/C.trace");
  auto no_trace = fp.fingerprint({"A.B"});
  ws.write(".lake/build/lib/lean/A/C.olean", "olean C v2");
  CHECK(fp.fingerprint({"A.B"}).digest != no_trace.digest);
  // An edited source's imports are read again (memoised by its content):
  // B stops importing C, then imports it again.
  ws.write("A/B.lean", "def b := 1\n");
  CHECK(fp.fingerprint({"A.B"}).modules == std::vector<std::string>{"A.B"});
  ws.write("A/B.lean", "import A.C\ndef b := 1\n");
  CHECK(fp.fingerprint({"A.B"}).modules == std::vector<std::string>{"A.B", "A.C"});
}

TEST_CASE("an unresolvable import is uncacheable") {
  Workspace ws;
  cache::DepFingerprinter fp(ws.path());
  auto r = fp.fingerprint({"A.B", "Missing.Module"});
  CHECK_FALSE(r.cacheable);
  CHECK(r.reason == "unresolved import Missing.Module");
}

TEST_CASE("racy files are never memoised") {
  Workspace ws;
  cache::FileHasher h(std::chrono::milliseconds(60000));  // everything is "racy"
  auto p = (ws.root / "A/C.lean").string();
  auto a = h.hash(p);
  auto b = h.hash(p);
  CHECK(a == b);
  CHECK(h.memo_hits() == 0);
  cache::FileHasher relaxed(std::chrono::milliseconds(0));
  relaxed.hash(p);
  relaxed.hash(p);
  CHECK(relaxed.memo_hits() == 1);
}

TEST_CASE("keys cover every component and explain differences") {
  cache::ServerIdentity s{"Lean (version 4.22.0)", "/x/lean", "leanprover/lean4:v4.22.0", "/ws", "lakefile", "lake\0serve", "silent"};
  cache::DocumentIdentity d{"file:///ws/A.lean", "always", "def x := 1", "deps", {}};
  auto k = cache::derive_key(s, d);
  CHECK(k.digest.size() == 64);
  CHECK(cache::derive_key(s, d).digest == k.digest);
  auto d2 = d;
  d2.text = "def x := 2";
  auto k2 = cache::derive_key(s, d2);
  CHECK(k2.digest != k.digest);
  CHECK(cache::differing_components(k, k2) == std::vector<std::string>{"text"});
  auto s2 = s;
  s2.client_flags = "";
  CHECK(cache::differing_components(k, cache::derive_key(s2, d)) == std::vector<std::string>{"client_flags"});
  // A text digest known already (the backend's memo of unchanged texts) gives the same key.
  std::string known = cache::sha256_hex(d.text);
  auto d3 = d;
  d3.text_sha256 = known;
  CHECK(cache::derive_key(s, d3).digest == k.digest);
}

TEST_CASE("header signatures ignore whitespace and comments, not syntax") {
  auto a = lean::parse_header("import Demo.B\nimport Std\n#eval 1");
  auto b = lean::parse_header("import Demo.B import Std -- same\n#eval 1");
  auto c = lean::parse_header("public import Demo.B\nimport Std\n#eval 1");
  CHECK(a.signature == "import Demo.B import Std");
  CHECK(a.signature == b.signature);
  CHECK(a.signature != c.signature);
  CHECK(lean::parse_header("module\nprelude\nimport all X").signature == "module prelude import all X");
}

TEST_CASE("an unclosed guillemet in an import name ends the name") {
  CHECK(lean::module_to_path("A.«b") == "A/b");
  auto h = lean::parse_header("import A«b\n");
  REQUIRE(h.imports.size() == 1);
  CHECK(lean::module_to_path(h.imports[0]).size() < 16);
}

TEST_CASE("each key part changes the key, however the keys before it went") {
  // derive_key keeps each part's last digest: a changed part must never be
  // answered from it, and a part changed back must give the first key again.
  cache::ServerIdentity s{"Lean (version 4.22.0)", "/x/lean", "leanprover/lean4:v4.22.0", "/ws", "lakefile", "lake\0serve", "silent"};
  cache::DocumentIdentity d{"file:///ws/A.lean", "always", "def x := 1", "deps", {}};
  const std::string base = cache::derive_key(s, d).digest;
  std::string* server_parts[] = {&s.lean_version, &s.lean_path,      &s.toolchain_file, &s.workspace_root,
                                 &s.lake_config,  &s.server_command, &s.client_flags};
  for (std::string* part : server_parts) {
    std::string was = *part;
    *part += "'";
    auto changed = cache::derive_key(s, d);
    CHECK(changed.digest != base);
    CHECK(cache::differing_components(cache::derive_key(s, d), changed).empty());  // the same again
    *part = was;
    CHECK(cache::derive_key(s, d).digest == base);
  }
  std::string_view cache::DocumentIdentity::*doc_parts[] = {&cache::DocumentIdentity::uri, &cache::DocumentIdentity::build_mode,
                                                           &cache::DocumentIdentity::text, &cache::DocumentIdentity::deps};
  for (auto part : doc_parts) {
    std::string_view was = d.*part;
    std::string other = std::string(was) + "'";
    d.*part = other;
    CHECK(cache::derive_key(s, d).digest != base);
    d.*part = was;
    CHECK(cache::derive_key(s, d).digest == base);
  }
}
