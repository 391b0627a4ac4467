// Minimal reproductions of proxy cache bugs found by the campaign; each fails until fixed (names say "proxy bug").
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

using namespace cachetest;

namespace {

const std::string kNote = "Imports are out of date";

struct Fixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", log = aux.path + "/proxy.log";
  std::string main = ws.uri("Main.lean");
  Fixture() { make_workspace(ws); }
  std::unique_ptr<Peer> proxy() { return start_proxy(ws.root(), ProxyOpts{cache, log, {}, {}}); }
  int mismatches() const { return count_lines(log, "cache MISMATCH"); }
  /// Stores `text` for `uri` in a session of its own (the current disk state).
  void store(const std::string& uri, const std::string& text, const char* mode = nullptr) {
    auto p = proxy();
    p->open(uri, text, 1, mode);
    REQUIRE(p->wait(uri, 1));
    REQUIRE(p->shutdown() == 0);
  }
  void watched(Peer& p, const std::string& rel) {
    p.notify("workspace/didChangeWatchedFiles", {{"changes", json::array({{{"uri", ws.uri(rel)}, {"type", 2}}})}});
  }
};

bool has_note(const json& diags) {
  for (const auto& d : diags)
    if (d.value("message", "").find(kNote) != std::string::npos) return true;
  return false;
}

}  // namespace

// B1. Lean's watchdog marks a worker stale when the editor reports a change
// to a file in its import closure (didChangeWatchedFiles / didSave), whatever
// the content: every later version carries the sticky "Imports are out of
// date" note. The proxy only compares fingerprints, so after a touch, a
// same-content write or an edit that is undone (A -> A' -> A) it serves a set
// without the note. Fix idea: watch those notifications on the way to the
// server and treat dependents as stale, as the watchdog does.
TEST_CASE("proxy bug B1: touching an imported file (editor's watcher reports it) must stop serving") {
  Fixture f;
  const std::string x = "import Demo.B\n#eval b\n", y = "import Demo.B\n#eval b + 1\n";
  f.store(f.main, x);
  auto p = f.proxy();
  p->open(f.main, y, 1);
  REQUIRE(p->wait(f.main, 1));
  f.ws.touch("Demo/A.lean");
  f.watched(*p, "Demo/A.lean");
  p->change(f.main, 2, y, x);
  REQUIRE(p->wait(f.main, 2));
  auto o = p->outcome(f.main, 2);
  CHECK(has_note(o.last));            // the server's set has the note...
  CHECK(o.served == o.last);          // ...and the proxy must not have served one without it
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

// B2. The lakefile (Lake injects its options, e.g. leanOptions, into every
// worker it sets up) is read into the key's identity only when the server
// starts. A worker started after the lakefile changed elaborates with the new
// options, but the key still has the old text: a stale set is served. Files
// that import workspace modules are masked by the traces' depHash (it mixes in
// the options after a rebuild); a file importing only the toolchain is not.
TEST_CASE("proxy bug B2: a lakefile option changed during a session must change the key of newly started workers") {
  Fixture f;
  std::string solo = f.ws.uri("Solo.lean");
  const std::string text = "import Std\ntheorem s : Std.answer = 42 := sorry\n";  // warning; error under strictSorry
  f.store(solo, text);
  auto p = f.proxy();
  f.ws.write("lakefile.toml", lakefile(true));
  f.ws.build();
  p->open(solo, text, 1);  // a new worker: strictSorry on
  REQUIRE(p->wait(solo, 1));
  auto o = p->outcome(solo, 1);
  CHECK(o.last[0]["severity"] == 1);  // what the server says
  CHECK(o.served == o.last);          // what the proxy served (the stored warning, if the bug is there)
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

// B3. The proxy decides "header changed -> the worker restarted" by comparing
// header *text*; Lean (and the simulator) compare header *syntax*, so an edit
// of whitespace or comments between imports does not restart the worker. The
// proxy then forgets that the worker's imports are stale (resets `stale`,
// records the disk's fingerprint as the worker's) and serves results of the
// new imports while the worker still has the old ones.
TEST_CASE("proxy bug B3: a header edit that keeps its syntax does not restart the worker (stale worker stays stale)") {
  Fixture f;
  const std::string h1 = "import Demo.B\nimport Std\n", h2 = "import Demo.B import Std\n", body = "#eval b\n";
  f.ws.write("Demo/A.lean", kA[1]);
  REQUIRE(f.ws.build() == 0);
  f.store(f.main, h2 + body, "never");  // b = 6 under A1 (the mode is part of the key)
  f.ws.write("Demo/A.lean", kA[0]);
  REQUIRE(f.ws.build() == 0);
  auto p = f.proxy();
  p->open(f.main, h1 + body, 1, "never");  // the worker loads A0: b = 4
  REQUIRE(p->wait(f.main, 1));
  f.ws.write("Demo/A.lean", kA[1]);  // rebuilt under the running worker
  REQUIRE(f.ws.build() == 0);
  p->change(f.main, 2, h1 + body, h1 + body + "\n");  // the proxy now knows the worker is stale
  REQUIRE(p->wait(f.main, 2));
  p->change(f.main, 3, h1 + body + "\n", h2 + body);  // same header syntax: no restart in Lean
  REQUIRE(p->wait(f.main, 3));
  auto o = p->outcome(f.main, 3);
  CHECK_FALSE(o.hit);
  CHECK(o.served == o.last);
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

// B4. The worker's fingerprint is recorded from the lookup of the version that
// started the worker, but only if that version is still current when the
// lookup returns. An editor that opens a file and types at once (or edits a
// header and then the body) supersedes it first: the worker's fingerprint is
// never known, so a later rebuild of an import is never noticed and entries
// of the new imports are served to the old worker.
TEST_CASE("proxy bug B4: worker fingerprint lost when the opening version is superseded at once") {
  Fixture f;
  const std::string x = "import Demo.B\n#eval b\n", y = "import Demo.B\n#eval b * 2\n", z = "import Demo.B\n#eval b + 100\n";
  f.ws.write("Demo/A.lean", kA[1]);
  REQUIRE(f.ws.build() == 0);
  f.store(f.main, z, "never");  // stored under A1 (the mode is part of the key)
  f.ws.write("Demo/A.lean", kA[0]);
  REQUIRE(f.ws.build() == 0);
  auto p = f.proxy();
  // Keep the proxy's cache worker busy (identity, other files' fingerprints)
  // so the lookup of v1 comes back after v2 has arrived, as it does when an
  // editor restores several files and the user types at once.
  p->open(f.ws.uri("Other.lean"), "import Demo.A\n#eval a\n", 1);
  p->open(f.ws.uri("Solo.lean"), "import Std\n#eval Std.answer\n", 1);
  p->open(f.main, x, 1, "never");  // the worker loads A0...
  p->change(f.main, 2, x, y);      // ...and is typed into before the proxy's lookup of v1 is back
  p->change(f.main, 3, y, x);
  p->change(f.main, 4, x, y);
  REQUIRE(p->wait(f.main, 4));
  f.ws.write("Demo/A.lean", kA[1]);  // rebuilt under the running worker
  REQUIRE(f.ws.build() == 0);
  p->change(f.main, 5, y, z);
  REQUIRE(p->wait(f.main, 5));
  auto o = p->outcome(f.main, 5);
  CHECK_FALSE(o.hit);
  CHECK(o.served == o.last);
  CHECK(f.mismatches() == 0);
  CHECK(p->shutdown() == 0);
}

// B5. Lean republishes the current version with the sticky note as soon as it
// learns an import changed (handleStaleDependency). For a version the proxy
// served, it drops every later server publish of that version: the editor
// never sees the note until the next edit. (Needs a simulator that republishes,
// as the one in the working tree after the HEAD commit does; with one that does
// not, the direct server shows no note either and this passes.)
TEST_CASE("proxy bug B5: the server's republish with the stale-imports note reaches the editor after a hit") {
  Fixture f;
  const std::string x = "import Demo.B\n#eval b\n";
  f.store(f.main, x);
  auto p = f.proxy();
  auto direct = start_direct(f.ws.root(), {});
  for (Peer* s : {p.get(), direct.get()}) {
    s->open(f.main, x, 1);
    REQUIRE(s->wait(f.main, 1));
  }
  REQUIRE(p->outcome(f.main, 1).hit);
  f.ws.write("Demo/A.lean", kA[1]);
  REQUIRE(f.ws.build() == 0);
  for (Peer* s : {p.get(), direct.get()}) {
    f.watched(*s, "Demo/A.lean");
    REQUIRE(s->wait(f.main, 1));  // the republish (if any) precedes this reply
  }
  CHECK(p->outcome(f.main, 1).last == direct->outcome(f.main, 1).last);
  CHECK(direct->shutdown() == 0);
  CHECK(p->shutdown() == 0);
}

// B6. A client's file URI with a malformed percent-escape (`%zz`, a trailing
// `%`) in didSave / didChangeWatchedFiles made the interceptor's URI decoding
// throw (std::stoi) out of the event loop: the proxy died (and the simulator's
// watchdog had the same bug; Lean ignores such a URI).
TEST_CASE("proxy bug B6: malformed %-escapes in watched-file and didSave URIs do not end the session") {
  Fixture f;
  auto p = f.proxy();
  p->open(f.main, "import Demo.B\n#eval b\n", 1);
  REQUIRE(p->wait(f.main, 1));
  p->notify("workspace/didChangeWatchedFiles",
            {{"changes", json::array({{{"uri", "file:///tmp/a%zz.lean"}, {"type", 2}}, {{"uri", "file:///b%"}, {"type", 2}}})}});
  p->notify("textDocument/didSave", {{"textDocument", {{"uri", "file:///tmp/c%4.lean"}}}});
  p->change(f.main, 2, "import Demo.B\n#eval b\n", "import Demo.B\n#eval b + 1\n");
  REQUIRE(p->wait(f.main, 2));
  CHECK(count_lines(f.log, "exited unexpectedly") == 0);  // neither the proxy nor the server died
  CHECK(p->shutdown() == 0);
}
