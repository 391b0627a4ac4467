// Router rules against a fake shell: forwarding, crash replay, id namespaces.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/proxy/commands.hpp"
#include "leanproxy/proxy/router.hpp"

using namespace leanproxy;
using proxy::Router;
using protocol::Message;

namespace {

struct FakeIo : proxy::RouterIo {
  std::vector<std::string> to_client, to_server;
  void send_to_client(std::string b) override { to_client.push_back(std::move(b)); }
  void send_to_server(std::string b) override { to_server.push_back(std::move(b)); }
  std::vector<Message> client_msgs() const {
    std::vector<Message> out;
    for (auto& b : to_client) out.push_back(Message::parse(b));
    return out;
  }
  std::vector<Message> server_msgs() const {
    std::vector<Message> out;
    for (auto& b : to_server) out.push_back(Message::parse(b));
    return out;
  }
  void clear() {
    to_client.clear();
    to_server.clear();
  }
};

struct Fixture {
  FakeIo io;
  Router router{io, Router::RestartPolicy{3, std::chrono::milliseconds(60000)}};
  void client(const std::string& s) { router.from_client(Message::parse(s)); }
  void server(const std::string& s) { router.from_server(Message::parse(s)); }
  // initialize → result, initialized, one document open, all on server 1.
  void handshake() {
    router.server_started();
    client(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{"lean":{"silentDiagnosticSupport":true}}}})");
    server(R"({"jsonrpc":"2.0","id":0,"result":{"capabilities":{}}})");
    client(R"({"jsonrpc":"2.0","method":"initialized","params":{}})");
    client(R"({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.lean","languageId":"lean4","version":1,"text":"def a := 1"}}})");
    io.clear();
  }
};

std::string method_of(const Message& m) { return m.method(); }

}  // namespace

TEST_CASE_FIXTURE(Fixture, "messages pass through as their original bytes") {
  router.server_started();
  std::string req = "{ \"jsonrpc\":\"2.0\", \"id\": 99999999999999999999, \"method\":\"textDocument/hover\", \"params\":{} }";
  client(req);
  REQUIRE(io.to_server.size() == 1);
  CHECK(io.to_server[0] == req);
  std::string resp = R"({"jsonrpc":"2.0","id":99999999999999999999,"result":null})";
  server(resp);
  REQUIRE(io.to_client.size() == 1);
  CHECK(io.to_client[0] == resp);
  CHECK(router.pending_requests() == 0);
}

TEST_CASE_FIXTURE(Fixture, "a notification without params gets {} (Lean requires params)") {
  router.server_started();
  client(R"({"jsonrpc":"2.0","method":"initialized"})");
  REQUIRE(io.to_server.size() == 1);
  CHECK(Message::parse(io.to_server[0]).params() == "{}");
  client(R"({"jsonrpc":"2.0","method":"exit"})");
  CHECK_FALSE(Message::parse(io.to_server[1]).has_params());
  CHECK(router.exit_received());
}

TEST_CASE_FIXTURE(Fixture, "invalid input from the client is answered, not forwarded") {
  router.server_started();
  client("{not json");
  client("[1,2,3]");
  CHECK(io.to_server.empty());
  auto replies = io.client_msgs();
  REQUIRE(replies.size() == 2);
  CHECK(*json::path(replies[0].raw(), {"error", "code"}) == "-32700");
  CHECK(*json::member(replies[0].raw(), "id") == "null");
  CHECK(*json::path(replies[1].raw(), {"error", "code"}) == "-32600");
}

TEST_CASE_FIXTURE(Fixture, "responses to unknown ids are dropped both ways") {
  router.server_started();
  client(R"({"jsonrpc":"2.0","id":42,"result":null})");
  server(R"({"jsonrpc":"2.0","id":43,"result":null})");
  CHECK(io.to_server.empty());
  CHECK(io.to_client.empty());
}

TEST_CASE_FIXTURE(Fixture, "messages before the first server starts are queued in order") {
  client(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})");
  client(R"({"jsonrpc":"2.0","method":"initialized","params":{}})");
  CHECK(io.to_server.empty());
  router.server_started();
  auto sent = io.server_msgs();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].method() == "initialize");
  CHECK(sent[1].method() == "initialized");
}

TEST_CASE_FIXTURE(Fixture, "a crash answers pending requests and replays the session") {
  handshake();
  client(R"({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///a.lean","version":2},"contentChanges":[{"range":{"start":{"line":0,"character":9},"end":{"line":0,"character":10}},"text":"2"}]}})");
  client(R"({"jsonrpc":"2.0","id":7,"method":"$/lean/plainGoal","params":{}})");
  io.clear();

  CHECK(router.server_exited("signal 9 (Killed)"));
  auto replies = io.client_msgs();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].kind() == protocol::Kind::response);
  CHECK(replies[0].id()->raw() == "7");
  CHECK(*json::path(replies[0].raw(), {"error", "code"}) == "-32603");
  CHECK(replies[1].method() == "window/logMessage");
  CHECK(router.pending_requests() == 0);

  // While down: edits go to the store only, other messages wait.
  io.clear();
  client(R"({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///a.lean","version":3},"contentChanges":[{"text":"def a := 3"}]}})");
  client(R"({"jsonrpc":"2.0","id":8,"method":"textDocument/hover","params":{}})");
  CHECK(io.to_server.empty());

  router.server_started();
  auto sent = io.server_msgs();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].method() == "initialize");
  CHECK(protocol::is_own_id(*sent[0].id()));
  CHECK(json::path(sent[0].raw(), {"params", "capabilities", "lean", "silentDiagnosticSupport"}));

  io.clear();
  server(R"({"jsonrpc":"2.0","id":)" + sent[0].id()->raw() + R"(,"result":{"capabilities":{}}})");
  sent = io.server_msgs();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].method() == "initialized");
  CHECK(sent[1].method() == "textDocument/didOpen");
  CHECK(*json::decode_string(*json::path(sent[1].raw(), {"params", "textDocument", "text"})) == "def a := 3");
  CHECK(*json::path(sent[1].raw(), {"params", "textDocument", "version"}) == "3");
  CHECK(sent[2].method() == "textDocument/hover");
  // The replayed initialize's result never reaches the client.
  for (auto& m : io.client_msgs()) CHECK(m.kind() != protocol::Kind::response);
  CHECK(router.phase() == Router::Phase::running);
}

TEST_CASE_FIXTURE(Fixture, "an initialize in flight during a crash is re-sent as is") {
  router.server_started();
  client(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})");
  io.clear();
  CHECK(router.server_exited("exit code 1"));
  for (auto& m : io.client_msgs()) CHECK(m.kind() != protocol::Kind::response);
  io.clear();
  router.server_started();
  auto sent = io.server_msgs();
  REQUIRE(!sent.empty());
  CHECK(sent[0].method() == "initialize");
  CHECK(sent[0].id()->raw() == "0");
  server(R"({"jsonrpc":"2.0","id":0,"result":{"capabilities":{}}})");
  bool answered = false;
  for (auto& m : io.client_msgs())
    if (m.kind() == protocol::Kind::response && m.id()->raw() == "0") answered = true;
  CHECK(answered);
}

TEST_CASE_FIXTURE(Fixture, "server request ids are tagged after a restart; stale replies never reach the successor") {
  handshake();
  server(R"({"jsonrpc":"2.0","id":"register_lean_watcher","method":"client/registerCapability","params":{"registrations":[{"id":"register_lean_watcher","method":"workspace/didChangeWatchedFiles","registerOptions":{}}]}})");
  server(R"({"jsonrpc":"2.0","id":0,"method":"workspace/semanticTokens/refresh","params":null})");
  REQUIRE(io.to_client.size() == 2);
  CHECK(Message::parse(io.to_client[1]).id()->raw() == "0");  // first server: untouched
  CHECK(router.server_exited("exit code 1"));
  router.server_started();
  server(R"({"jsonrpc":"2.0","id":)" + Message::parse(io.to_server.back()).id()->raw() + R"(,"result":{}})");
  io.clear();

  // The old server's refresh is answered late: dropped, not given to server 2.
  client(R"({"jsonrpc":"2.0","id":0,"result":null})");
  CHECK(io.to_server.empty());

  // Server 2 registers the same watcher: the client already has it.
  server(R"({"jsonrpc":"2.0","id":"register_lean_watcher","method":"client/registerCapability","params":{"registrations":[{"id":"register_lean_watcher","method":"workspace/didChangeWatchedFiles","registerOptions":{}}]}})");
  CHECK(io.to_client.empty());
  REQUIRE(io.to_server.size() == 1);
  CHECK(Message::parse(io.to_server[0]).kind() == protocol::Kind::response);

  // Server 2's own request 0 goes out tagged and its reply comes back untagged.
  io.clear();
  server(R"({"jsonrpc":"2.0","id":0,"method":"workspace/inlayHint/refresh","params":null})");
  REQUIRE(io.to_client.size() == 1);
  auto out = Message::parse(io.to_client[0]);
  CHECK(out.id()->is_string());
  client(R"({"jsonrpc":"2.0","id":)" + out.id()->raw() + R"(,"result":null})");
  REQUIRE(io.to_server.size() == 1);
  CHECK(Message::parse(io.to_server[0]).id()->raw() == "0");
}

TEST_CASE_FIXTURE(Fixture, "repeated crashes exhaust the restart budget") {
  handshake();
  auto t0 = Router::Clock::now();
  CHECK(router.server_exited("x", t0));
  router.server_started();
  CHECK(router.server_exited("x", t0 + std::chrono::seconds(1)));
  router.server_started();
  CHECK(router.server_exited("x", t0 + std::chrono::seconds(2)));
  router.server_started();
  io.clear();
  CHECK_FALSE(router.server_exited("x", t0 + std::chrono::seconds(3)));
  auto msgs = io.client_msgs();
  REQUIRE(!msgs.empty());
  CHECK(msgs.back().method() == "window/showMessage");
}

TEST_CASE_FIXTURE(Fixture, "crashes outside the window do not count") {
  handshake();
  auto t0 = Router::Clock::now();
  for (int i = 0; i < 10; ++i) {
    CHECK(router.server_exited("x", t0 + std::chrono::minutes(2 * i)));
    router.server_started();
  }
}

TEST_CASE_FIXTURE(Fixture, "client EOF shuts the server down politely") {
  handshake();
  router.client_closed();
  auto sent = io.server_msgs();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].method() == "shutdown");
  CHECK(protocol::is_own_id(*sent[0].id()));
  io.clear();
  server(R"({"jsonrpc":"2.0","id":)" + sent[0].id()->raw() + R"(,"result":null})");
  CHECK(io.to_client.empty());  // our reply is consumed
  REQUIRE(io.to_server.size() == 1);
  CHECK(method_of(Message::parse(io.to_server[0])) == "exit");
  CHECK(router.server_shut_down());
  CHECK_FALSE(router.server_exited("exit code 0"));  // not a crash
}

TEST_CASE("backoff grows and is capped") {
  CHECK(Router::backoff(1).count() == 0);
  CHECK(Router::backoff(2).count() == 100);
  CHECK(Router::backoff(3).count() == 200);
  CHECK(Router::backoff(50).count() == 5000);
}

TEST_CASE_FIXTURE(Fixture, "client ids in the proxy's own namespace are escaped and restored") {
  router.server_started();
  client(R"({"jsonrpc":"2.0","id":"llp:0","method":"initialize","params":{}})");
  REQUIRE(io.to_server.size() == 1);
  auto sent = Message::parse(io.to_server[0]);
  CHECK_FALSE(protocol::is_own_id(*sent.id()));
  CHECK(sent.id()->raw() != "\"llp:0\"");
  server(R"({"jsonrpc":"2.0","id":)" + sent.id()->raw() + R"(,"result":{"capabilities":{}}})");
  REQUIRE(io.to_client.size() == 1);
  CHECK(Message::parse(io.to_client[0]).id()->raw() == "\"llp:0\"");
  // A cancel for it is escaped the same way.
  client(R"({"jsonrpc":"2.0","id":"llp:1","method":"textDocument/hover","params":{}})");
  client(R"({"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"llp:1"}})");
  auto cancel = Message::parse(io.to_server.back());
  CHECK(*json::member(cancel.params(), "id") == Message::parse(io.to_server[1]).id()->raw());
  // A crash answers it with its own id.
  io.clear();
  router.server_exited("x");
  CHECK(Message::parse(io.to_client[0]).id()->raw() == "\"llp:1\"");
}

TEST_CASE("commands are answered by the proxy and can be advertised") {
  FakeIo io;
  proxy::CommandInterceptor commands(nullptr, nullptr, nullptr, [] { return std::string("{\"sessions\":1}"); }, true);
  Router router(io, Router::RestartPolicy{}, &commands);
  router.server_started();
  router.from_client(Message::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})"));
  router.from_server(Message::parse(R"({"jsonrpc":"2.0","id":1,"result":{"capabilities":{"hoverProvider":true}}})"));
  REQUIRE(io.to_client.size() == 1);
  auto commands_list = json::path(io.to_client[0], {"result", "capabilities", "executeCommandProvider", "commands"});
  REQUIRE(commands_list);
  CHECK(commands_list->find("leanProxy.stats") != std::string_view::npos);
  CHECK(json::path(io.to_client[0], {"result", "capabilities", "hoverProvider"}));
  io.clear();
  router.from_client(Message::parse(
      R"({"jsonrpc":"2.0","id":2,"method":"workspace/executeCommand","params":{"command":"leanProxy.stats"}})"));
  router.from_client(Message::parse(
      R"({"jsonrpc":"2.0","id":3,"method":"workspace/executeCommand","params":{"command":"leanProxy.cache.toggle","arguments":[{"on":1}]}})"));
  router.from_client(Message::parse(
      R"({"jsonrpc":"2.0","id":4,"method":"workspace/executeCommand","params":{"command":"other.command"}})"));
  CHECK(io.to_server.size() == 1);  // only the foreign command goes to the server
  REQUIRE(io.to_client.size() == 2);
  CHECK(*json::path(io.to_client[0], {"result", "schema"}) == "1");
  CHECK(*json::path(io.to_client[1], {"error", "code"}) == "-32602");
}
