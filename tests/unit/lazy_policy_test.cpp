// The cache's lazy policy (--on-hit=lazy) through the router, against a fake
// shell and server: a hit is not told to the server, a request that needs the
// document brings it up to date first, crash replays, the order of holds; and
// the option itself.
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "backend_fakes.hpp"
#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/interceptor.hpp"
#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/proxy/options.hpp"
#include "leanproxy/proxy/router.hpp"

using namespace leanproxy;
using protocol::Message;
using testing::Loop;
using testing::MemStore;

namespace {

struct FakeIo : proxy::RouterIo {
  std::vector<std::string> to_client, to_server;
  void send_to_client(std::string b) override { to_client.push_back(std::move(b)); }
  void send_to_server(std::string b) override { to_server.push_back(std::move(b)); }
  std::function<void()> timer;  ///< what `after` was asked to run; the test runs it
  void after(std::chrono::milliseconds, std::function<void()> fn) override { timer = std::move(fn); }
};

std::string q(const std::string& s) { return json::quote(s); }

const std::string kDiags =
    R"([{"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":3}},"severity":1,"message":"boom","source":"Lean 4"}])";

struct Fixture {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("llp-lazy-" + std::to_string(::getpid()));
  Loop loop;
  std::shared_ptr<MemStore> store = std::make_shared<MemStore>(/*with_memory_tier=*/true);
  cache::Backend backend{store, loop.post()};
  // `/bin/true` stands in for `lean`: `--version` and `--print-prefix` succeed
  // with no output, and documents without imports need no search path.
  cache::CacheInterceptor cache;
  FakeIo io;
  proxy::Router router{io, proxy::Router::RestartPolicy{3, std::chrono::milliseconds(60000)}, &cache};
  std::string uri = "file://" + (root / "A.lean").string();
  std::size_t server_seen = 0;  // io.to_server entries already looked at

  explicit Fixture(cache::OnHit on_hit = cache::OnHit::lazy)
      : cache(backend, cache::ServerSpec{{"/bin/true", "--server"}, root.string(), {}},
              cache::InterceptOptions{true, false, on_hit}) {
    std::filesystem::create_directories(root);
    router.server_started();
    client(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}})");
    server(R"({"jsonrpc":"2.0","id":0,"result":{"capabilities":{}}})");
    client(R"({"jsonrpc":"2.0","method":"initialized","params":{}})");
    REQUIRE(loop.run_until([&] { return backend.ready(); }));
    io.to_client.clear();
    server_seen = io.to_server.size();
  }
  ~Fixture() { std::filesystem::remove_all(root); }

  void client(const std::string& s) { router.from_client(Message::parse(s)); }
  void server(const std::string& s) { router.from_server(Message::parse(s)); }
  void open(long version, const std::string& text) {
    client(R"({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":)" + q(uri) +
           R"(,"languageId":"lean4","version":)" + std::to_string(version) + R"(,"text":)" + q(text) + "}}}");
  }
  // The whole text replaced by one ranged edit from (0,0) to the end of `old_text` (one line).
  void change(long version, const std::string& old_text, const std::string& text) {
    client(R"({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":)" + q(uri) +
           R"(,"version":)" + std::to_string(version) +
           R"(},"contentChanges":[{"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":)" +
           std::to_string(old_text.size()) + R"(}},"text":)" + q(text) + "}]}}");
  }
  void close() {
    client(R"({"jsonrpc":"2.0","method":"textDocument/didClose","params":{"textDocument":{"uri":)" + q(uri) + "}}}");
  }
  void lookups_done() {
    REQUIRE(loop.run_until([&] { return cache.stats().hits + cache.stats().misses >= lookups_; }));
  }
  // A version whose lookup is expected: waits for it.
  void looked_up() {
    ++lookups_;
    lookups_done();
  }
  // The server publishes `diags` for `version` and answers the proxy's own
  // waitForDiagnostics for it; waits until the result is stored.
  void finish(long version, const std::string& diags = kDiags) {
    auto before = cache.stats().stores;
    server(R"({"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":)" + q(uri) +
           R"(,"version":)" + std::to_string(version) + R"(,"diagnostics":)" + diags + "}}");
    auto wait = own_wait(version);
    REQUIRE(wait);
    server(R"({"jsonrpc":"2.0","id":)" + *wait + R"(,"result":{}})");
    REQUIRE(loop.run_until([&] { return cache.stats().stores > before; }));
  }
  // The id of the proxy's own waitForDiagnostics for `version`, if one was sent.
  std::optional<std::string> own_wait(long version) const {
    for (const auto& b : io.to_server) {
      auto m = Message::parse(b);
      if (m.method() == "textDocument/waitForDiagnostics" && m.id() && protocol::is_own_id(*m.id()) &&
          json::path(m.params(), {"version"}) == std::optional<std::string_view>(std::to_string(version)))
        return m.id()->raw();
    }
    return std::nullopt;
  }
  // What reached the server since the last call.
  std::vector<Message> new_to_server() {
    std::vector<Message> out;
    for (; server_seen < io.to_server.size(); ++server_seen) out.push_back(Message::parse(io.to_server[server_seen]));
    return out;
  }
  std::vector<Message> client_msgs() const {
    std::vector<Message> out;
    for (auto& b : io.to_client) out.push_back(Message::parse(b));
    return out;
  }
  // The server's final set for a version served lazily and synced since
  // equals the served one: a verified hit.
  void finish_verified(long version) {
    server(R"({"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":)" + q(uri) +
           R"(,"version":)" + std::to_string(version) + R"(,"diagnostics":)" + kDiags + "}}");
    auto wait = own_wait(version);
    REQUIRE(wait);
    server(R"({"jsonrpc":"2.0","id":)" + *wait + R"(,"result":{}})");
    CHECK(cache.stats().verified_hits == 1);
    CHECK(cache.stats().mismatches == 0);
  }
  // Every lookup posted so far has been answered (also those nobody counts).
  void settle() {
    REQUIRE(loop.run_until([&] { return backend.ready(); }));
    loop.drain();
  }
  // A text that was checked and stored at `version` (open, miss, finish).
  void seed(long version, const std::string& text) {
    open(version, text);
    looked_up();
    finish(version);
  }

 private:
  std::uint64_t lookups_ = 0;
};

std::string text_of_change(const Message& m) {
  auto t = json::path(m.params(), {"contentChanges"});
  REQUIRE(t);
  json::ArrayReader r(*t);
  std::string_view c;
  REQUIRE(r.next(c));
  CHECK_FALSE(json::member(c, "range"));  // a full-text replacement
  return json::decode_string(*json::member(c, "text")).value_or("?");
}

std::optional<std::int64_t> version_of(const Message& m) {
  auto v = json::path(m.params(), {"textDocument", "version"});
  return v ? json::to_int64(*v) : std::nullopt;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "lazy: on a hit nothing reaches the server, and waitForDiagnostics answers {} at once") {
  seed(1, "theorem a : True := trivial");
  close();
  new_to_server();
  io.to_client.clear();

  open(2, "theorem a : True := trivial");
  CHECK(new_to_server().empty());  // held while the lookup runs
  looked_up();
  CHECK(cache.stats().hits == 1);
  CHECK(new_to_server().empty());  // a hit: the server is not told
  auto c = client_msgs();
  REQUIRE(c.size() == 2);
  CHECK(c[0].method() == "$/lean/fileProgress");
  CHECK(c[1].method() == "textDocument/publishDiagnostics");
  CHECK(json::path(c[1].params(), {"version"}) == std::optional<std::string_view>("2"));

  io.to_client.clear();
  client(R"({"jsonrpc":"2.0","id":7,"method":"textDocument/waitForDiagnostics","params":{"uri":)" + q(uri) +
         R"(,"version":2}})");
  REQUIRE(io.to_client.size() == 1);
  CHECK(io.to_client[0] == protocol::make_result("7", "{}"));
  client(R"({"jsonrpc":"2.0","id":8,"method":"textDocument/waitForDiagnostics","params":{"uri":)" + q(uri) +
         R"(,"version":1}})");  // an older version: Lean answers it once a newer one is done
  REQUIRE(io.to_client.size() == 2);
  CHECK(io.to_client[1] == protocol::make_result("8", "{}"));
  CHECK(new_to_server().empty());
  CHECK(cache.stats().verified_hits == 0);
  CHECK(router.pending_requests() == 0);
}

TEST_CASE_FIXTURE(Fixture, "lazy: a repeat from memory is served before its didOpen returns, until a file it read changes") {
  LLP_REQUIRE_WATCHABLE(root.string());
  seed(1, "theorem a : True := trivial");
  close();
  settle();
  new_to_server();
  io.to_client.clear();
  open(2, "theorem a : True := trivial");
  CHECK(cache.stats().hits == 1);  // no round trip to the worker: answered inside from_client
  REQUIRE(io.to_client.size() == 2);
  CHECK(Message::parse(io.to_client[1]).method() == "textDocument/publishDiagnostics");
  CHECK(new_to_server().empty());
  close();

  // The lakefile is part of the key: once it changes, the worker computes
  // the key again (a new one: a miss), even for the same text.
  std::ofstream(root / "lakefile.lean") << "-- options changed\n";
  io.to_client.clear();
  open(3, "theorem a : True := trivial");
  CHECK(io.to_client.empty());
  REQUIRE(loop.run_until([&] { return cache.stats().misses == 2; }));
  CHECK(cache.stats().hits == 1);
}

TEST_CASE_FIXTURE(Fixture, "the empty publish after a client's didClose never wipes a reopen served from the cache") {
  // Lean clears a closed document's diagnostics (no version). A reopen served
  // from the cache can reach the editor before that clear comes back.
  const std::string clear = R"({"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":)" + q(uri) +
                            R"(,"diagnostics":[]}})";
  seed(1, "theorem a : True := trivial");
  close();
  open(2, "theorem a : True := trivial");
  looked_up();
  REQUIRE(cache.stats().hits == 1);
  io.to_client.clear();
  server(clear);
  CHECK(io.to_client.empty());  // the editor keeps the served set
  // Without a reopen the clear is the editor's, as from Lean itself.
  close();
  server(clear);
  REQUIRE(io.to_client.size() == 1);
  CHECK(io.to_client[0] == clear);
  // And one that was never owed (no close the server saw) goes through too.
  io.to_client.clear();
  server(clear);
  CHECK(io.to_client.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "lazy: a client wait during the lookup is answered with it") {
  seed(1, "theorem a : True := trivial");
  close();
  new_to_server();
  io.to_client.clear();
  store->memory_tier = false;  // the lookup goes to the worker (a repeat from memory is answered at once)
  open(2, "theorem a : True := trivial");
  client(R"({"jsonrpc":"2.0","id":7,"method":"textDocument/waitForDiagnostics","params":{"uri":)" + q(uri) +
         R"(,"version":2}})");
  CHECK(io.to_client.empty());
  looked_up();
  auto c = client_msgs();
  REQUIRE(c.size() == 3);
  CHECK(c[2].raw() == protocol::make_result("7", "{}"));  // after the served set
  CHECK(new_to_server().empty());
}

TEST_CASE_FIXTURE(Fixture, "lazy: a hover miss after a lazy hit brings the server up to date with the full text first") {
  seed(1, "theorem a : True := trivial");
  change(2, "theorem a : True := trivial", "theorem b : True := trivial");
  looked_up();
  finish(2);
  change(3, "theorem b : True := trivial", "theorem a : True := trivial");  // back to v1's text: a hit
  looked_up();
  CHECK(cache.stats().hits == 1);
  new_to_server();
  CHECK(own_wait(3) == std::nullopt);

  client(R"({"jsonrpc":"2.0","id":9,"method":"textDocument/hover","params":{"textDocument":{"uri":)" + q(uri) +
         R"(},"position":{"line":0,"character":9}}})");
  REQUIRE(loop.run_until([&] { return cache.stats().answer_misses == 1; }));
  auto s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didChange");  // the server held v2: a full text, not the client's edit
  CHECK(version_of(s[0]) == 3);
  CHECK(text_of_change(s[0]) == "theorem a : True := trivial");
  CHECK(s[1].method() == "textDocument/waitForDiagnostics");  // the hit is verified now that the server has it
  CHECK(s[2].method() == "textDocument/hover");

  // The server's set for v3 equals the served one: a verified hit.
  finish_verified(3);
}

TEST_CASE_FIXTURE(Fixture, "lazy: a request for a document the server never saw opens it there first") {
  seed(1, "theorem a : True := trivial");
  close();
  open(2, "theorem a : True := trivial");
  looked_up();
  new_to_server();
  client(R"({"jsonrpc":"2.0","id":9,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":)" + q(uri) +
         "}}}");
  auto s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didOpen");
  CHECK(version_of(s[0]) == 2);
  CHECK(s[1].method() == "textDocument/waitForDiagnostics");
  CHECK(s[2].method() == "textDocument/documentSymbol");
  // Up to date now: the next request goes straight on.
  client(R"({"jsonrpc":"2.0","id":10,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":)" +
         q(uri) + "}}}");
  s = new_to_server();
  REQUIRE(s.size() == 1);
  CHECK(s[0].method() == "textDocument/documentSymbol");
}

TEST_CASE_FIXTURE(Fixture, "lazy: a miss after hits sends the full text, not the client's edit") {
  seed(1, "theorem a : True := trivial");
  change(2, "theorem a : True := trivial", "theorem b : True := trivial");
  looked_up();
  finish(2);
  change(3, "theorem b : True := trivial", "theorem a : True := trivial");  // hit: dropped
  looked_up();
  new_to_server();
  change(4, "theorem a : True := trivial", "theorem c : True := trivial");  // miss
  looked_up();
  auto s = new_to_server();
  REQUIRE(s.size() == 2);
  CHECK(s[0].method() == "textDocument/didChange");
  CHECK(version_of(s[0]) == 4);
  CHECK(text_of_change(s[0]) == "theorem c : True := trivial");
  CHECK(s[1].method() == "textDocument/waitForDiagnostics");
  finish(4);  // and it is stored like any miss

  // When the server holds the version an edit applies to, the edit goes as sent.
  change(5, "theorem c : True := trivial", "theorem d : True := trivial");
  looked_up();
  s = new_to_server();
  REQUIRE(s.size() == 2);
  CHECK(s[0].raw().find("\"range\"") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "lazy: a header changed and back behind the server's back restarts its worker") {
  const std::string plain = "theorem a : True := trivial", pre = "prelude\ntheorem p : True := trivial";
  seed(1, plain);
  change(2, plain, pre);  // a header change the server sees
  looked_up();
  finish(2);
  change(3, pre, plain);  // back: a hit, not sent (Lean would have restarted the worker)
  looked_up();
  CHECK(cache.stats().hits == 1);
  new_to_server();
  change(4, plain, "prelude\ntheorem q : True := trivial");  // a miss, with the server's header
  looked_up();
  auto s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didClose");  // a full-text change would keep the old worker
  CHECK(s[1].method() == "textDocument/didOpen");
  CHECK(version_of(s[1]) == 4);
  CHECK(s[2].method() == "textDocument/waitForDiagnostics");
  // Lean clears a closed document's diagnostics: not the client's business here.
  io.to_client.clear();
  server(R"({"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":)" + q(uri) +
         R"(,"diagnostics":[]}})");
  CHECK(io.to_client.empty());
  finish(4);
  CHECK(io.to_client.size() == 1);  // the server's own set for the version
}

TEST_CASE_FIXTURE(Fixture, "lazy: didClose of a document the server never saw is dropped") {
  seed(1, "theorem a : True := trivial");
  new_to_server();
  close();
  CHECK(new_to_server().size() == 1);  // the server had it: told
  open(2, "theorem a : True := trivial");
  looked_up();
  close();
  CHECK(new_to_server().empty());
  // A document closed while its lookup runs: neither reaches the server.
  open(3, "theorem a : True := trivial");
  close();
  settle();
  CHECK(new_to_server().empty());
}

TEST_CASE_FIXTURE(Fixture, "lazy: everything after a held notification waits behind it, also while the backend is busy") {
  seed(1, "theorem a : True := trivial");
  close();
  new_to_server();
  // The identity is being read again (a busy backend): lazy holds anyway.
  cache.client_initialize("{}");
  open(2, "theorem x : True := trivial");  // a miss
  client(R"({"jsonrpc":"2.0","id":11,"method":"workspace/symbol","params":{"query":"x"}})");
  CHECK(new_to_server().empty());
  looked_up();
  auto s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didOpen");
  CHECK(s[1].method() == "workspace/symbol");  // in the client's order
  CHECK(s[2].method() == "textDocument/waitForDiagnostics");
}

TEST_CASE_FIXTURE(Fixture, "lazy: a crash replay opens each document once, the one the server never saw included") {
  seed(1, "theorem a : True := trivial");
  close();
  open(2, "theorem a : True := trivial");
  looked_up();  // a hit: the server never saw it
  new_to_server();
  // A change held for its lookup when the server dies is superseded by the replay.
  change(3, "theorem a : True := trivial", "theorem z : True := trivial");
  CHECK(router.server_exited("signal 9"));
  router.server_started();
  auto s = new_to_server();
  REQUIRE(s.size() == 1);
  CHECK(s[0].method() == "initialize");
  server(R"({"jsonrpc":"2.0","id":)" + s[0].id()->raw() + R"(,"result":{"capabilities":{}}})");
  looked_up();  // the replayed version's (the held change's answer is for a dead server: ignored)
  s = new_to_server();
  int opens = 0;
  for (auto& m : s) {
    CHECK(m.method() != "textDocument/didChange");
    if (m.method() == "textDocument/didOpen") {
      ++opens;
      CHECK(version_of(m) == 3);
    }
  }
  CHECK(opens == 1);
  // The server has it, so a request goes straight on.
  client(R"({"jsonrpc":"2.0","id":12,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":)" +
         q(uri) + "}}}");
  s = new_to_server();
  REQUIRE(s.size() == 1);
  CHECK(s[0].method() == "textDocument/documentSymbol");
}

TEST_CASE_FIXTURE(Fixture, "lazy: Restart File is never served and goes to the server") {
  seed(1, "theorem a : True := trivial");
  close();
  new_to_server();
  client(R"({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":)" + q(uri) +
         R"(,"languageId":"lean4","version":2,"text":"theorem a : True := trivial"},"dependencyBuildMode":"once"}})");
  auto s = new_to_server();
  REQUIRE(s.size() == 2);  // not held: sent at once, with the proxy's own wait
  CHECK(s[0].method() == "textDocument/didOpen");
  looked_up();
  CHECK(cache.stats().hits == 0);
}

TEST_CASE_FIXTURE(Fixture, "lazy: with the cache toggled off, edits of a document the server lacks go as full text") {
  seed(1, "theorem a : True := trivial");
  close();
  open(2, "theorem a : True := trivial");
  looked_up();
  new_to_server();
  cache.set_enabled(false);
  change(3, "theorem a : True := trivial", "theorem q : True := trivial");
  auto s = new_to_server();
  REQUIRE(s.size() == 2);
  CHECK(s[0].method() == "textDocument/didOpen");  // never seen: opened with the current text
  CHECK(version_of(s[0]) == 3);
  CHECK(s[1].method() == "textDocument/waitForDiagnostics");
}

TEST_CASE("--on-hit: flag, settings file, help") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "lean-lsp-proxy");
    return proxy::parse_options(static_cast<int>(args.size()), args.data());
  };
  CHECK(parse({}).options.on_hit == proxy::Options::OnHit::forward);
  CHECK(parse({"--on-hit", "lazy"}).options.on_hit == proxy::Options::OnHit::lazy);
  CHECK(parse({"--on-hit=forward"}).options.on_hit == proxy::Options::OnHit::forward);
  CHECK(parse({"--on-hit", "eager"}).error.find("forward or lazy") != std::string::npos);
  CHECK(proxy::usage().find("--on-hit") != std::string::npos);

  auto dir = std::filesystem::temp_directory_path() / ("llp-onhit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"onHit": "lazy"})";
  auto r = parse({});
  CHECK(proxy::apply_settings_file(dir.string(), r.options).empty());
  CHECK(r.options.on_hit == proxy::Options::OnHit::lazy);
  r = parse({"--on-hit", "forward"});  // the command line wins
  proxy::apply_settings_file(dir.string(), r.options);
  CHECK(r.options.on_hit == proxy::Options::OnHit::forward);
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"onHit": 1})";
  r = parse({});
  CHECK(proxy::apply_settings_file(dir.string(), r.options).find("\"onHit\" must be") != std::string::npos);
  std::filesystem::remove_all(dir);
}

namespace {
struct ForwardFixture : Fixture {
  ForwardFixture() : Fixture(cache::OnHit::forward) {}
};
}  // namespace

TEST_CASE_FIXTURE(ForwardFixture, "forward: a reopen's close and served open reach the server after the client spoke again, or a moment later") {
  LLP_REQUIRE_WATCHABLE(root.string());
  const std::string text = "theorem a : True := trivial";
  seed(1, text);
  settle();
  new_to_server();
  close();  // held: a reopen may follow, whose hit should not compete with the worker's teardown
  CHECK(new_to_server().empty());
  REQUIRE(io.timer);

  io.to_client.clear();
  open(2, text);  // a repeat from memory: answered inside from_client
  CHECK(cache.stats().hits == 1);
  REQUIRE(io.to_client.size() == 2);
  CHECK(new_to_server().empty());  // Lean would fork a worker now, competing with the editor's read
  REQUIRE(io.timer);
  std::exchange(io.timer, nullptr)();
  auto s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didClose");
  CHECK(s[1].method() == "textDocument/didOpen");
  CHECK(s[2].method() == "textDocument/waitForDiagnostics");  // the proxy's own: the hit is verified
  finish_verified(2);

  // The client's next request ends the wait: it goes after the notifications.
  close();
  open(3, text);
  CHECK(cache.stats().hits == 2);
  CHECK(new_to_server().empty());
  client(R"({"jsonrpc":"2.0","id":9,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":)" +
         q(uri) + "}}}");
  s = new_to_server();
  REQUIRE(s.size() == 4);
  CHECK(s[0].method() == "textDocument/didClose");
  CHECK(s[1].method() == "textDocument/didOpen");
  CHECK(s[2].method() == "textDocument/waitForDiagnostics");
  CHECK(s[3].method() == "textDocument/documentSymbol");
  if (io.timer) std::exchange(io.timer, nullptr)();  // late: nothing left to resume
  CHECK(new_to_server().empty());

  // A reopen that misses goes to the server at once, its close first.
  close();
  open(4, text + " -- another text");
  REQUIRE(loop.run_until([&] { return cache.stats().misses == 2; }));
  s = new_to_server();
  REQUIRE(s.size() == 3);
  CHECK(s[0].method() == "textDocument/didClose");
  CHECK(s[1].method() == "textDocument/didOpen");
  CHECK(s[2].method() == "textDocument/waitForDiagnostics");
}
