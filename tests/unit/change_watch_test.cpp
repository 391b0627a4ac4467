// ChangeWatch (inotify over the directories a lookup read) and the backend's
// answers on the caller's thread that rest on it: each change that can make
// a remembered key wrong must move the generation, and noise must not.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "backend_fakes.hpp"
#include "leanproxy/cache/change_watch.hpp"

using namespace leanproxy;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path root = fs::temp_directory_path() / ("llp-watch-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(root);
    fs::create_directories(root / "lib/A");
  }
  ~Dir() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel, std::ios::trunc) << text;
  }
  std::string at(const std::string& rel) const { return (root / rel).string(); }
};

// Covered once watched, and not before.
void cover(cache::ChangeWatch& w, const std::string& dir) {
  CHECK_FALSE(w.covered(dir));
  w.watch(dir);
  CHECK(w.covered(dir));
}

}  // namespace

TEST_CASE("change watch: an entry's change moves the generation; a read or another directory does not") {
  Dir d;
  LLP_REQUIRE_WATCHABLE(d.root.string());
  d.write("lib/A/B.olean", "b");
  d.write("other/x", "x");
  cache::ChangeWatch w;
  REQUIRE(w.usable());
  cover(w, d.at("lib/A"));
  auto g = w.generation();
  { std::ifstream(d.at("lib/A/B.olean")).get(); }  // reads are no change
  d.write("other/x", "y");                           // not a covered directory
  CHECK(w.generation() == g);
  d.write("lib/A/B.olean", "b2");
  CHECK(w.generation() > g);
  g = w.generation();
  d.write("lib/A/New.olean", "n");  // a new entry can shadow or resolve a module
  CHECK(w.generation() > g);
  g = w.generation();
  fs::remove(d.at("lib/A/New.olean"));
  CHECK(w.generation() > g);
  CHECK(w.covered(d.at("lib/A")));  // the watch stays
}

TEST_CASE("change watch: a missing directory is covered by its ancestor, for the entry that would create it") {
  Dir d;
  LLP_REQUIRE_WATCHABLE(d.root.string());
  cache::ChangeWatch w;
  cover(w, d.at("lib/Missing/Deeper"));
  auto g = w.generation();
  d.write("lib/Unrelated/f", "x");  // another entry of the watched ancestor
  CHECK(w.generation() == g);
  fs::create_directories(d.at("lib/Missing"));
  CHECK(w.generation() > g);
  // It exists now (partly): its own watch must be added before it is trusted.
  cover(w, d.at("lib/Missing/Deeper"));
  g = w.generation();
  fs::create_directories(d.at("lib/Missing/Deeper"));
  CHECK(w.generation() > g);
  cover(w, d.at("lib/Missing/Deeper"));
}

TEST_CASE("change watch: renaming a directory on the path, or retargeting a symlink on it, is a change") {
  Dir d;
  LLP_REQUIRE_WATCHABLE(d.root.string());
  d.write("lib/A/B.olean", "b");
  d.write("lib2/A/B.olean", "other b");
  cache::ChangeWatch w;
  cover(w, d.at("lib/A"));
  auto g = w.generation();
  d.write("noise.log", "the parent's other entries are noise");
  CHECK(w.generation() == g);
  fs::rename(d.at("lib"), d.at("lib-old"));
  fs::rename(d.at("lib2"), d.at("lib"));  // same path, other files: the old watch follows the old inode
  CHECK(w.generation() > g);
  cover(w, d.at("lib/A"));

  fs::create_directories(d.at("t1/A"));
  fs::create_directories(d.at("t2/A"));
  fs::create_directory_symlink(d.at("t1"), d.at("link"));
  cover(w, d.at("link/A"));
  g = w.generation();
  fs::remove(d.at("link"));
  fs::create_directory_symlink(d.at("t2"), d.at("link"));
  CHECK(w.generation() > g);

  // The directory a symlink leads to, moved away: the link dangles.
  fs::create_directories(d.at("real/t3/A"));
  fs::create_directory_symlink(d.at("real/t3"), d.at("link3"));
  cover(w, d.at("link3/A"));
  g = w.generation();
  fs::rename(d.at("real"), d.at("real-moved"));
  CHECK(w.generation() > g);
}

TEST_CASE("change watch: a removed directory is watched no more") {
  Dir d;
  LLP_REQUIRE_WATCHABLE(d.root.string());
  d.write("lib/A/B.olean", "b");
  cache::ChangeWatch w;
  cover(w, d.at("lib/A"));
  auto g = w.generation();
  fs::remove_all(d.at("lib/A"));
  CHECK(w.generation() > g);
  d.write("lib/A/B.olean", "rebuilt");
  cover(w, d.at("lib/A"));  // a new directory: watched anew
  CHECK_FALSE(w.covered("relative/path"));
}

TEST_CASE("change watch: when full it starts afresh, at most once a minute") {
  Dir d;
  LLP_REQUIRE_WATCHABLE(d.root.string());
  for (const char* sub : {"a", "b", "c"}) fs::create_directories(d.at(sub));
  // Each directory needs its own watch and one per ancestor up to `/`.
  std::size_t per_dir = 1;
  for (fs::path p = d.root; p != p.root_path(); p = p.parent_path()) ++per_dir;
  cache::ChangeWatch w(per_dir + 1);
  cover(w, d.at("a"));
  auto g = w.generation();
  w.watch(d.at("b"));  // full: everything is dropped, and `b` watched afresh
  CHECK(w.generation() > g);
  CHECK_FALSE(w.covered(d.at("a")));
  CHECK(w.covered(d.at("b")));
  w.watch(d.at("c"));  // full again within the minute: `c` is not covered, `b` stays
  CHECK_FALSE(w.covered(d.at("c")));
  CHECK(w.covered(d.at("b")));
  CHECK(w.watches() <= per_dir + 1);
}

namespace {

// A backend over a workspace whose `lean` is /bin/true (no toolchain output)
// and whose LEAN_PATH / LEAN_SRC_PATH are set for it.
struct BackendFixture {
  Dir d;
  std::shared_ptr<testing::MemStore> store = std::make_shared<testing::MemStore>(/*with_memory_tier=*/true);
  testing::Loop loop;
  std::unique_ptr<cache::Backend> backend;
  std::string uri = "file://" + d.at("Main.lean");

  BackendFixture() {
    d.write("build/A/B.olean", "olean B");
    d.write("build/A/B.trace", R"({"depHash":"1"})");
    d.write("A/B.lean", "def b := 1\n");
    ::setenv("LEAN_PATH", (d.at("first") + ":" + d.at("build")).c_str(), 1);
    ::setenv("LEAN_SRC_PATH", d.root.c_str(), 1);
    backend = std::make_unique<cache::Backend>(store, loop.post());
    backend->refresh_identity({{"/bin/true", "--server"}, d.root.string(), {}});
    REQUIRE(loop.run_until([&] { return backend->ready(); }));
    ::unsetenv("LEAN_PATH");
    ::unsetenv("LEAN_SRC_PATH");
  }
  cache::DocQuery query(const std::string& text) const { return {uri, 1, text, "always", true}; }
  std::optional<cache::DocAnswer> now(std::string_view text, std::string_view build_mode = "always") {
    return backend->answer_now({uri, 1, text, build_mode, true});
  }
  cache::DocAnswer ask(const std::string& text) {
    std::optional<cache::DocAnswer> got;
    backend->query(query(text), [&](cache::DocAnswer a) { got = std::move(a); });
    REQUIRE(loop.run_until([&] { return got.has_value(); }));
    return *got;
  }
  // Looked up twice (the first adds the watches), then stored: a repeat can
  // be answered at once.
  cache::DocAnswer learn(const std::string& text) {
    ask(text);
    auto a = ask(text);
    REQUIRE(a.cacheable);
    store->put(cache::Table::diagnostics, a.key.digest, R"({"diagnostics":[],"elab_ms":5})");
    return a;
  }
};

const std::string kText = "import A.B\ntheorem t : True := trivial\n";

}  // namespace

TEST_CASE_FIXTURE(BackendFixture, "backend: a repeat is answered on the caller's thread while nothing it read changed") {
  LLP_REQUIRE_WATCHABLE(d.root.string());
  auto a = learn(kText);
  auto fast = now(kText);
  REQUIRE(fast);
  CHECK(fast->key.digest == a.key.digest);
  CHECK(fast->diagnostics == std::optional<std::string>("[]"));
  CHECK(fast->elab_ms == 5);
  REQUIRE(fast->modules);
  CHECK(*fast->modules == std::vector<std::string>{"A.B"});
  CHECK_FALSE(now(kText + "-- another text\n"));
  CHECK_FALSE(now(kText, "once"));
  // Not in the memory tier: the worker must look on disk.
  store->memory_tier = false;
  CHECK_FALSE(now(kText));
  store->memory_tier = true;
  CHECK(now(kText));
}

TEST_CASE_FIXTURE(BackendFixture, "backend: every file a key rests on, changed, stops the answer at once; the worker's key moves") {
  LLP_REQUIRE_WATCHABLE(d.root.string());
  struct Change {
    const char* what;
    std::function<void(Dir&)> apply;
  };
  const Change changes[] = {
      {"a rebuild (the trace)", [](Dir& d) { d.write("build/A/B.trace", R"({"depHash":"2"})"); }},
      {"an import's source edited, not rebuilt", [](Dir& d) { d.write("A/B.lean", "def b := 2\n"); }},
      {"a module shadowing the import, earlier on LEAN_PATH", [](Dir& d) { d.write("first/A/B.olean", "x"); }},
      {"the lakefile", [](Dir& d) { d.write("lakefile.toml", "name = \"x\"\n"); }},
      {"the manifest", [](Dir& d) { d.write("lake-manifest.json", "{}"); }},
  };
  for (const auto& c : changes) {
    CAPTURE(c.what);
    auto before = learn(kText);
    REQUIRE(now(kText));
    c.apply(d);
    CHECK_FALSE(now(kText));
    CHECK(ask(kText).key.digest != before.key.digest);
  }
  // An import that no longer resolves: the answer (uncacheable) comes from the worker.
  learn(kText);
  fs::remove_all(d.at("first"));
  fs::remove_all(d.at("build/A"));
  CHECK_FALSE(now(kText));
  auto gone = ask(kText);
  CHECK_FALSE(gone.cacheable);
  CHECK(gone.reason == "unresolved import A.B");
}

TEST_CASE_FIXTURE(BackendFixture, "backend: a new server identity forgets what was answered") {
  LLP_REQUIRE_WATCHABLE(d.root.string());
  learn(kText);
  REQUIRE(now(kText));
  backend->refresh_identity({{"/bin/true", "--server"}, d.root.string(), {"widgets=1"}});
  CHECK_FALSE(now(kText));  // queued: the worker answers in order
  REQUIRE(loop.run_until([&] { return backend->ready(); }));
  CHECK_FALSE(now(kText));  // and nothing from before is kept
}
