// crashy_server: a tiny LSP server that can be told to crash, hold requests
// and spawn descendants, so tests can check the proxy's crash recovery.
//
// Requests (besides initialize / shutdown):
//   test/documents  → {generation, pid, methods, unknownResponses,
//                      initializeParams, initializedParams,
//                      documents:[{uri,version,text}]}
//   test/crash      {exitCode?, signal?} → dies without replying
//   test/hold       → never answered until test/release (a request "in flight")
//   test/release    → answers every held request with "released", then itself
//   test/spawn      {daemonize?} → starts `sleep 1000` in a session of its own
//                      (setsid, like Lean's workers) and answers {pid}
//   test/askClient  → sends workspace/configuration to the client and answers
//                      with {answer: <the client's result>}
//   test/stderr     {bytes} → writes that much to stderr first
//   test/garbage    → writes junk to stdout, then answers
//   test/echo       → answers with its params
// Environment:
//   CRASHY_GENERATION_FILE  a counter file incremented at each start, so tests
//                           can tell one server process from the next
//   CRASHY_DIE_FROM_GENERATION=k  exit at once when generation ≥ k (crash loop)
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "leanproxy/document/store.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/protocol/message.hpp"
#include "stdio_transport.hpp"

namespace json = leanproxy::json;
namespace proto = leanproxy::protocol;

namespace {

long next_generation() {
  const char* path = std::getenv("CRASHY_GENERATION_FILE");
  if (!path) return 1;
  long g = 0;
  { std::ifstream in(path); in >> g; }
  ++g;
  std::ofstream(path, std::ios::trunc) << g << '\n';
  return g;
}

// Forks `sleep 1000` in a new session. With `daemonize` the intermediate child
// exits, so the sleeper is reparented away from us (to the nearest subreaper).
pid_t spawn_sleeper(bool daemonize) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    setsid();
    if (daemonize && fork() != 0) _exit(0);
    pid_t me = getpid();
    (void)!write(fds[1], &me, sizeof me);
    close(fds[1]);
    // Own stdio: a worker that kept our stdout would keep the proxy's pipe open.
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execlp("sleep", "sleep", "1000", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  pid_t sleeper = -1;
  if (child < 0 || read(fds[0], &sleeper, sizeof sleeper) != sizeof sleeper) sleeper = -1;
  close(fds[0]);
  if (daemonize && child > 0) waitpid(child, nullptr, 0);
  return sleeper;
}

struct Server {
  testlsp::StdioTransport io;
  leanproxy::document::DocumentStore docs;
  long generation = next_generation();
  std::vector<std::string> methods;  // every method received, in order
  std::string initialize_params = "null", initialized_params = "null";
  std::vector<std::string> held;     // raw ids of test/hold requests
  std::vector<std::pair<std::string, std::string>> asks;  // our request id → client's request id
  int next_ask = 0;
  int unknown_responses = 0;  // replies to requests this process never sent
  bool shutdown = false;

  void reply(const std::string& id, std::string_view result) { io.write(proto::make_result(id, result)); }

  std::string documents_json() const {
    std::string out = "{\"generation\":" + std::to_string(generation) + ",\"pid\":" + std::to_string(getpid());
    out += ",\"unknownResponses\":" + std::to_string(unknown_responses);
    out += ",\"initializeParams\":" + initialize_params + ",\"initializedParams\":" + initialized_params;
    out += ",\"methods\":[";
    for (std::size_t i = 0; i < methods.size(); ++i) out += (i ? "," : "") + json::quote(methods[i]);
    out += "],\"documents\":[";
    bool first = true;
    for (const auto* d : docs.in_open_order()) {
      out += first ? "" : ",";
      first = false;
      out += "{\"uri\":" + json::quote(d->uri) + ",\"version\":" + std::to_string(d->version) +
             ",\"text\":" + json::quote(d->text) + "}";
    }
    return out + "]}";
  }

  void on_request(const proto::Message& m) {
    const std::string& id = m.id()->raw();
    const std::string& method = m.method();
    std::string params(m.has_params() ? m.params() : "null");
    if (method == "initialize") {
      initialize_params = params;
      reply(id, R"({"capabilities":{"textDocumentSync":{"openClose":true,"change":2}},)"
                R"("serverInfo":{"name":"crashy_server","version":")" + std::to_string(generation) + "\"}}");
    } else if (method == "shutdown") {
      shutdown = true;
      reply(id, "null");
    } else if (method == "test/documents") {
      reply(id, documents_json());
    } else if (method == "test/crash") {
      auto sig = json::member(params, "signal");
      if (sig && json::to_bool(*sig).value_or(false)) raise(SIGKILL);
      auto code = json::member(params, "exitCode");
      _exit(code ? static_cast<int>(json::to_int64(*code).value_or(3)) : 3);
    } else if (method == "test/hold") {
      held.push_back(id);
    } else if (method == "test/release") {
      for (const auto& h : held) reply(h, "\"released\"");
      held.clear();
      reply(id, "\"released\"");
    } else if (method == "test/spawn") {
      auto d = json::member(params, "daemonize");
      pid_t pid = spawn_sleeper(d && json::to_bool(*d).value_or(false));
      reply(id, "{\"pid\":" + std::to_string(pid) + "}");
    } else if (method == "test/askClient") {
      std::string ask_id = json::quote("crashy:" + std::to_string(next_ask++));
      asks.emplace_back(ask_id, id);
      io.write(proto::make_request(ask_id, "workspace/configuration", R"({"items":[{"section":"crashy"}]})"));
    } else if (method == "test/stderr") {
      // A chatty server: the proxy must drain stderr or we block here.
      auto n = json::member(params, "bytes");
      std::string chunk(4096, 'e');
      chunk.back() = '\n';
      for (std::int64_t left = n ? json::to_int64(*n).value_or(0) : 0; left > 0; left -= 4096)
        (void)!::write(2, chunk.data(), chunk.size());
      reply(id, "null");
    } else if (method == "test/garbage") {
      // Junk on stdout before a good reply, as a stray debug print would leave.
      std::string junk = "debug: hello\r\n\r\nContent-Length: -1\r\n\r\n";
      (void)!::write(1, junk.data(), junk.size());
      reply(id, "\"after garbage\"");
    } else if (method == "test/echo") {
      reply(id, params);
    } else {
      io.write(proto::make_error(id, proto::error_code::method_not_found, "unknown method " + method));
    }
  }

  void on_notification(const proto::Message& m) {
    const std::string& method = m.method();
    std::string_view params = m.has_params() ? m.params() : std::string_view("null");
    std::string err;
    if (method == "initialized") initialized_params = std::string(params);
    else if (method == "textDocument/didOpen") err = docs.did_open(params);
    else if (method == "textDocument/didChange") err = docs.did_change(params);
    else if (method == "textDocument/didClose") err = docs.did_close(params);
    else if (method == "exit") _exit(shutdown ? 0 : 1);
    if (!err.empty()) std::fprintf(stderr, "crashy_server: %s: %s\n", method.c_str(), err.c_str());
  }

  void on_response(const proto::Message& m) {
    for (auto it = asks.begin(); it != asks.end(); ++it) {
      if (it->first != m.id()->raw()) continue;
      std::string answer(m.is_error() ? m.error() : m.result());
      reply(it->second, "{\"answer\":" + answer + "}");
      asks.erase(it);
      return;
    }
    ++unknown_responses;
    std::fprintf(stderr, "crashy_server: response to unknown id %s\n", m.id() ? m.id()->raw().c_str() : "?");
  }

  int run() {
    if (const char* from = std::getenv("CRASHY_DIE_FROM_GENERATION"); from && generation >= std::atol(from))
      _exit(4);
    while (auto body = io.read()) {
      auto m = proto::Message::parse(std::move(*body));
      if (m.kind() == proto::Kind::request || m.kind() == proto::Kind::notification) methods.push_back(m.method());
      switch (m.kind()) {
        case proto::Kind::request: on_request(m); break;
        case proto::Kind::notification: on_notification(m); break;
        case proto::Kind::response: on_response(m); break;
        default: std::fprintf(stderr, "crashy_server: bad message: %s\n", m.problem().c_str());
      }
    }
    return 0;  // EOF: the proxy went away
  }
};

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  static Server server;  // static: the transport's 64 KiB buffer stays off the stack
  return server.run();
}
