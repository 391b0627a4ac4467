// The RocksDB store: round trips, persistence, TTL, LRU eviction, bad values,
// corruption, a lock held by another process, read-only and unwritable dirs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/cache/record.hpp"
#include "leanproxy/cache/sha256.hpp"
#include "leanproxy/cache/store.hpp"

using namespace leanproxy::cache;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("llp-store-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
  }
  ~TempDir() {
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(path);
    for (auto& e : fs::directory_iterator(path.parent_path()))
      if (e.path().filename().string().rfind(path.filename().string() + ".corrupt-", 0) == 0) fs::remove_all(e.path());
  }
};

StoreConfig config(const fs::path& dir, std::int64_t* clock = nullptr) {
  StoreConfig c;
  c.dir = dir.string();
  if (clock) c.clock = [clock] { return *clock; };
  return c;
}
}  // namespace

TEST_CASE("sha256 matches a known vector") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 a, b;
  a.field("ab").field("c");
  b.field("a").field("bc");
  CHECK(a.hex_digest() != b.hex_digest());
}

TEST_CASE("records validate their bytes") {
  auto r = encode_record(1234, R"({"d":[]})");
  auto d = decode_record(r);
  REQUIRE(d);
  CHECK(d->created_unix_s == 1234);
  CHECK(d->payload == R"({"d":[]})");
  CHECK_FALSE(decode_record("garbage"));
  CHECK_FALSE(decode_record(r.substr(0, r.size() - 1)));  // truncated JSON
  std::string wrong_version = r;
  wrong_version[2] = 9;
  CHECK_FALSE(decode_record(wrong_version));
  CHECK_FALSE(decode_record(encode_record(INT64_MIN, "[]")));  // no time before 1970: such a record could never expire
}

TEST_CASE("put, get, erase, clear and persistence across reopen") {
  TempDir tmp;
  {
    auto opened = open_rocksdb_store(config(tmp.path));
    REQUIRE(opened.store->mode() == StoreMode::read_write);
    CHECK(opened.notice.empty());
    auto& s = *opened.store;
    CHECK(s.put(Table::diagnostics, "k1", R"([1])"));
    CHECK(s.put(Table::answers, "k1", R"({"a":1})"));
    CHECK(*s.get(Table::diagnostics, "k1") == "[1]");
    CHECK(*s.get(Table::answers, "k1") == R"({"a":1})");
    CHECK_FALSE(s.get(Table::diagnostics, "nope"));
    CHECK(s.stats().entries == 2);
    CHECK(s.put_meta("m", "v"));
  }
  struct stat st {};
  REQUIRE(::stat(tmp.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  {
    auto opened = open_rocksdb_store(config(tmp.path));
    auto& s = *opened.store;
    CHECK(*s.get(Table::diagnostics, "k1") == "[1]");
    CHECK(*s.get_meta("m") == "v");
    CHECK(s.stats().entries == 2);
    s.erase(Table::diagnostics, "k1");
    CHECK_FALSE(s.get(Table::diagnostics, "k1"));
    s.clear();
    CHECK_FALSE(s.get(Table::answers, "k1"));
    CHECK(s.stats().entries == 0);
  }
}

TEST_CASE("what the store last read or wrote (its memory tier) follows every change at once") {
  TempDir tmp;
  auto opened = open_rocksdb_store(config(tmp.path));
  auto& s = *opened.store;
  REQUIRE(s.put(Table::diagnostics, "k", "[1]"));
  CHECK(*s.get(Table::diagnostics, "k") == "[1]");
  CHECK_FALSE(s.get(Table::answers, "k"));  // tables stay apart
  REQUIRE(s.put(Table::diagnostics, "k", "[2]"));  // replaced
  CHECK(*s.get(Table::diagnostics, "k") == "[2]");
  s.erase(Table::diagnostics, "k");
  CHECK_FALSE(s.get(Table::diagnostics, "k"));
  REQUIRE(s.put(Table::diagnostics, "k", "[3]"));
  REQUIRE(s.put(Table::answers, "k", "{}"));
  CHECK(s.get(Table::answers, "k"));
  s.clear();
  CHECK_FALSE(s.get(Table::diagnostics, "k"));
  CHECK_FALSE(s.get(Table::answers, "k"));
  // Many records (48 MiB, three times the tier): each still reads back right.
  std::string big = "\"" + std::string(1u << 20, 'x') + "\"";
  for (int i = 0; i < 48; ++i) REQUIRE(s.put(Table::diagnostics, "b" + std::to_string(i), big));
  for (int i = 0; i < 48; ++i) CHECK(s.get(Table::diagnostics, "b" + std::to_string(i))->size() == big.size());
}

TEST_CASE("records past the TTL are not served") {
  TempDir tmp;
  std::int64_t now = 1000000;
  auto cfg = config(tmp.path, &now);
  cfg.ttl = std::chrono::seconds(100);
  auto opened = open_rocksdb_store(cfg);
  auto& s = *opened.store;
  REQUIRE(s.put(Table::diagnostics, "k", "[]"));
  now += 99;
  CHECK(s.get(Table::diagnostics, "k"));
  now += 2;
  CHECK_FALSE(s.get(Table::diagnostics, "k"));
  CHECK(s.stats().expirations == 1);
  CHECK(s.stats().entries == 0);
}

TEST_CASE("the size bound evicts the least recently used") {
  TempDir tmp;
  std::int64_t now = 1000;
  auto cfg = config(tmp.path, &now);
  cfg.max_bytes = 10 * 1024;
  auto opened = open_rocksdb_store(cfg);
  auto& s = *opened.store;
  std::string payload = "\"" + std::string(1000, 'x') + "\"";
  for (int i = 0; i < 8; ++i) {
    ++now;
    REQUIRE(s.put(Table::diagnostics, "k" + std::to_string(i), payload));
  }
  ++now;
  s.touch("k0");  // k0 is now the most recently used
  for (int i = 8; i < 14; ++i) {
    ++now;
    REQUIRE(s.put(Table::diagnostics, "k" + std::to_string(i), payload));
  }
  CHECK(s.stats().bytes <= cfg.max_bytes);
  CHECK(s.stats().evictions > 0);
  CHECK(s.get(Table::diagnostics, "k0"));   // touched: survives
  CHECK(s.get(Table::diagnostics, "k13"));  // newest: survives
  CHECK_FALSE(s.get(Table::diagnostics, "k1"));  // oldest untouched: gone
}

TEST_CASE("a corrupt store is moved aside and replaced") {
  TempDir tmp;
  {
    auto opened = open_rocksdb_store(config(tmp.path));
    REQUIRE(opened.store->put(Table::diagnostics, "k", "[]"));
  }
  // Corrupt every table file and the manifest.
  for (auto& e : fs::directory_iterator(tmp.path)) {
    auto name = e.path().filename().string();
    if (name.rfind("MANIFEST", 0) == 0 || e.path().extension() == ".sst") {
      std::ofstream(e.path(), std::ios::trunc) << "not a rocksdb file at all, just garbage bytes";
    }
  }
  auto opened = open_rocksdb_store(config(tmp.path));
  CHECK(opened.store->mode() == StoreMode::read_write);
  CHECK(opened.notice.find("corrupt") != std::string::npos);
  CHECK_FALSE(opened.store->get(Table::diagnostics, "k"));
  CHECK(opened.store->put(Table::diagnostics, "k2", "[]"));
}

TEST_CASE("a store locked by another process is read, never moved") {
  TempDir tmp;
  auto first = open_rocksdb_store(config(tmp.path));
  REQUIRE(first.store->put(Table::diagnostics, "shared", "[7]"));
  first.store.reset();
  int to_parent[2], to_child[2];
  REQUIRE(::pipe(to_parent) == 0);
  REQUIRE(::pipe(to_child) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {  // the other process holds the lock until told to stop
    auto holder = open_rocksdb_store(config(tmp.path));
    char c = holder.store->mode() == StoreMode::read_write ? 'y' : 'n';
    ::write(to_parent[1], &c, 1);
    ::read(to_child[0], &c, 1);
    holder.store.reset();
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(to_parent[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  auto second = open_rocksdb_store(config(tmp.path));
  CHECK(second.store->mode() == StoreMode::read_only);
  CHECK(second.notice.find("in use by another process") != std::string::npos);
  CHECK(*second.store->get(Table::diagnostics, "shared") == "[7]");
  CHECK_FALSE(second.store->put(Table::diagnostics, "x", "[]"));
  second.store.reset();
  ::write(to_child[1], "x", 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(fs::exists(tmp.path / "CURRENT"));  // still where it was
}

TEST_CASE("an unwritable cache directory means no cache, not a failure") {
  if (::geteuid() == 0) {
    // root ignores permissions: use a path below a regular file instead.
    TempDir tmp;
    fs::create_directories(tmp.path);
    std::ofstream(tmp.path / "file") << "x";
    auto opened = open_rocksdb_store(config(tmp.path / "file" / "cache"));
    CHECK(opened.store->mode() == StoreMode::none);
    CHECK_FALSE(opened.notice.empty());
    CHECK_FALSE(opened.store->put(Table::diagnostics, "k", "[]"));
    return;
  }
  TempDir tmp;
  fs::create_directories(tmp.path);
  fs::permissions(tmp.path, fs::perms::owner_read | fs::perms::owner_exec);
  auto opened = open_rocksdb_store(config(tmp.path / "cache"));
  CHECK(opened.store->mode() == StoreMode::none);
}

TEST_CASE("read-only mode serves but never writes") {
  TempDir tmp;
  REQUIRE(open_rocksdb_store(config(tmp.path)).store->put(Table::diagnostics, "k", "[1]"));
  auto cfg = config(tmp.path);
  cfg.read_only = true;
  auto opened = open_rocksdb_store(cfg);
  CHECK(opened.store->mode() == StoreMode::read_only);
  CHECK(*opened.store->get(Table::diagnostics, "k") == "[1]");
  CHECK_FALSE(opened.store->put(Table::diagnostics, "k2", "[]"));
}
