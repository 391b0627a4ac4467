// IdTable (requests in flight by id) against std::map: integer ids in every
// pattern a client might count in, string ids, growth, erasure in any order.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "leanproxy/protocol/id_table.hpp"

using namespace leanproxy::protocol;

namespace {

Id id_of(const std::string& raw) { return *Id::from_raw(raw); }

// Applies the same operations to the table and to a reference map, checking
// every answer; ids are drawn from `raws`.
void run_against_reference(const std::vector<std::string>& raws, unsigned seed, int steps) {
  IdTable<std::string> table;
  std::map<std::string, std::string> ref;  // by Id::key()
  std::mt19937 rng(seed);
  for (int step = 0; step < steps; ++step) {
    const std::string& raw = raws[rng() % raws.size()];
    Id id = id_of(raw);
    switch (rng() % 3) {
      case 0: {
        bool fresh = false;
        std::string& v = table.emplace(id, fresh);
        CHECK(fresh == (ref.count(id.key()) == 0));
        v = "v" + std::to_string(step);
        ref[id.key()] = v;
        break;
      }
      case 1: CHECK(table.erase(id) == (ref.erase(id.key()) == 1)); break;
      default: {
        std::string* v = table.find(id);
        auto it = ref.find(id.key());
        REQUIRE((v != nullptr) == (it != ref.end()));
        if (v) CHECK(*v == it->second);
      }
    }
    REQUIRE(table.size() == ref.size());
  }
  for (const auto& raw : raws) {  // every id, at the end
    std::string* v = table.find(id_of(raw));
    auto it = ref.find(id_of(raw).key());
    REQUIRE((v != nullptr) == (it != ref.end()));
    if (v) CHECK(*v == it->second);
  }
}

}  // namespace

TEST_CASE("integer ids: the value for every number an id can be, apart from its neighbours") {
  CHECK(id_of("42").integer() == 42);
  CHECK(id_of("-7").integer() == -7);
  CHECK(id_of("9223372036854775807").integer() == INT64_MAX);
  CHECK(id_of("-9223372036854775808").integer() == INT64_MIN);
  CHECK_FALSE(id_of("9223372036854775808").integer());  // beyond int64: by key
  CHECK_FALSE(id_of("-0").integer());                   // a different id from 0
  CHECK_FALSE(id_of("\"42\"").integer());
}

TEST_CASE("IdTable agrees with a map for sequential, strided, negative, huge and string ids") {
  std::vector<std::string> sequential, strided, mixed;
  for (int i = 0; i < 300; ++i) sequential.push_back(std::to_string(100000 + i));
  for (int i = 0; i < 300; ++i) strided.push_back(std::to_string(i * 1024));  // all share their low bits
  mixed = {"0", "-0", "1", "-1", "\"1\"", "\"a\"", "\"\\u0061\"", "\"llp:c:1\"", "9223372036854775807",
           "-9223372036854775808", "9223372036854775808", "18446744073709551616", "\"\""};
  for (int i = 0; i < 40; ++i) mixed.push_back(std::to_string(i * 64));
  for (unsigned seed = 1; seed <= 4; ++seed) {
    run_against_reference(sequential, seed, 5000);
    run_against_reference(strided, seed, 5000);
    run_against_reference(mixed, seed, 3000);
  }
}

TEST_CASE("IdTable keeps a pipeline of thousands, finds each as it is answered, then gives its memory back") {
  IdTable<int> table;
  bool fresh = false;
  for (int i = 0; i < 5000; ++i) table.emplace(Id::number(i), fresh) = i;
  CHECK(table.size() == 5000);
  CHECK(table.slots() >= 10000);  // at most half full
  for (int i = 0; i < 5000; ++i) {
    int* v = table.find(Id::number(i));
    REQUIRE(v);
    CHECK(*v == i);
    CHECK(table.erase(Id::number(i)));
    CHECK_FALSE(table.find(Id::number(i)));
  }
  CHECK(table.size() == 0);
  CHECK(table.slots() == 64);  // the burst's slots are not kept for the session's life
}

TEST_CASE("IdTable::erase_if visits each entry once and keeps the others findable") {
  IdTable<int> table;
  bool fresh = false;
  for (int i = 0; i < 200; ++i) table.emplace(Id::number(i * 1024), fresh) = i;
  table.emplace(Id::string("s"), fresh) = 1000;
  int visits = 0;
  table.erase_if([&](int v) {
    ++visits;
    return v % 2 == 0;
  });
  CHECK(visits == 201);
  CHECK(table.size() == 100);
  for (int i = 0; i < 200; ++i) CHECK((table.find(Id::number(i * 1024)) != nullptr) == (i % 2 == 1));
  CHECK_FALSE(table.find(Id::string("s")));
  int* odd = table.find_if([](int v) { return v == 7; });
  REQUIRE(odd);
  CHECK(*odd == 7);
  CHECK_FALSE(table.find_if([](int v) { return v == 8; }));
}
