// Store modes and failures seen from outside: --cache off / readonly, a store locked by a second proxy, a corrupt store.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <filesystem>
#include <fstream>

using namespace cachetest;
namespace fs = std::filesystem;

namespace {

const std::string kX = "import Demo.B\n#eval b\n";
const std::string kY = "import Demo.B\ntheorem t : b = 4 := by decide\n";

struct Fixture {
  Workspace ws;
  simtest::TempDir aux;
  std::string cache = aux.path + "/cache", main = ws.uri("Main.lean");
  Fixture() { make_workspace(ws); }
  std::unique_ptr<Peer> proxy(const std::string& log, std::vector<std::string> extra = {}) {
    return start_proxy(ws.root(), ProxyOpts{cache, aux.path + "/" + log, std::move(extra), {}});
  }
  /// One session: open `text` as `version`, wait; returns whether it was served from the cache.
  bool session(const std::string& log, const std::string& text, long version, std::vector<std::string> extra = {}) {
    auto p = proxy(log, std::move(extra));
    p->open(main, text, version);
    REQUIRE(p->wait(main, version));
    bool hit = p->outcome(main, version).hit;
    CHECK(p->shutdown() == 0);
    return hit;
  }
  std::vector<std::string> aside() const {  // siblings named <cache>.corrupt-*
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(aux.path))
      if (e.path().filename().string().rfind("cache.corrupt-", 0) == 0) out.push_back(e.path().string());
    return out;
  }
};

}  // namespace

TEST_CASE("--cache off: nothing is served or stored") {
  Fixture f;
  CHECK_FALSE(f.session("a.log", kX, 1, {"--cache", "off"}));
  CHECK_FALSE(f.session("b.log", kX, 2, {"--cache", "off"}));
  CHECK(count_lines(f.aux.path + "/b.log", "cache hit:") == 0);
  CHECK_FALSE(f.session("c.log", kX, 3));  // nothing was stored by the "off" sessions
}

TEST_CASE("--cache readonly: serves what is stored, stores nothing") {
  Fixture f;
  CHECK_FALSE(f.session("a.log", kX, 1));
  CHECK(f.session("b.log", kX, 2, {"--cache", "readonly"}));
  CHECK_FALSE(f.session("c.log", kY, 3, {"--cache", "readonly"}));
  CHECK_FALSE(f.session("d.log", kY, 4));  // the readonly session did not store Y
  CHECK(f.session("e.log", kY, 5));
  for (const char* log : {"a.log", "b.log", "c.log", "d.log", "e.log"})
    CHECK(count_lines(f.aux.path + "/" + log, "cache MISMATCH") == 0);
}

TEST_CASE("--cache readonly on a store that does not exist yet: works uncached, creates nothing") {
  Fixture f;
  CHECK_FALSE(f.session("a.log", kX, 1, {"--cache", "readonly"}));
  CHECK_FALSE(fs::exists(f.cache + "/CURRENT"));
}

TEST_CASE("a store locked by another proxy: the second runs read-only, says so, never moves it aside") {
  Fixture f;
  CHECK_FALSE(f.session("a.log", kX, 1));  // X stored
  auto first = f.proxy("first.log");       // holds the RocksDB lock
  first->open(f.main, kY, 2);
  REQUIRE(first->wait(f.main, 2));
  auto second = f.proxy("second.log");
  std::string other = f.ws.uri("Other.lean");
  second->open(other, "import Demo.A\n#eval a\n", 1);
  REQUIRE(second->wait(other, 1));  // the editor still works
  second->open(f.main, kX, 3);
  REQUIRE(second->wait(f.main, 3));
  CHECK(second->outcome(f.main, 3).hit);  // read-only still reads
  std::string log = slurp(f.aux.path + "/second.log");
  CHECK(log.find("in use by another process") != std::string::npos);
  CHECK(log.find("read-only") != std::string::npos);
  CHECK(log.find("corrupt") == std::string::npos);
  CHECK(f.aside().empty());
  CHECK(second->shutdown() == 0);
  CHECK(first->shutdown() == 0);
  CHECK(fs::exists(f.cache + "/CURRENT"));
  CHECK(f.session("c.log", kX, 4));  // the store is intact and still has X
}

TEST_CASE("a corrupt store between runs: moved aside and rebuilt, the proxy keeps working") {
  Fixture f;
  CHECK_FALSE(f.session("a.log", kX, 1));
  REQUIRE(fs::exists(f.cache + "/CURRENT"));
  // Garbage over every file of the store (as a crashed disk or a bad copy leaves it).
  for (const auto& e : fs::directory_iterator(f.cache))
    if (e.is_regular_file() && e.path().filename() != "LOCK")
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << "\x01garbage\xff not a rocksdb file\n";
  CHECK_FALSE(f.session("b.log", kX, 2));  // starts, works, uncached this time
  std::string log = slurp(f.aux.path + "/b.log");
  CHECK(log.find("moved it to") != std::string::npos);
  CHECK(f.aside().size() == 1);
  CHECK(f.session("c.log", kX, 3));  // the fresh store fills and serves again
}
