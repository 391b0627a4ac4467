// echo_server: the trivial LSP server behind the relay benchmark. Answers each
// request with its own params as the result, so the work it does is the same
// whether the benchmark talks to it directly or through the proxy.
#include <csignal>
#include <memory>

#include "leanproxy/protocol/message.hpp"
#include "stdio_transport.hpp"

namespace proto = leanproxy::protocol;

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  auto io = std::make_unique<testlsp::StdioTransport>();
  bool shutdown = false;
  while (auto body = io->read()) {
    auto m = proto::Message::parse(std::move(*body));
    if (m.kind() == proto::Kind::request) {
      std::string_view result = m.has_params() ? m.params() : "null";
      if (m.method() == "initialize") result = R"({"capabilities":{},"serverInfo":{"name":"echo_server"}})";
      if (m.method() == "shutdown") shutdown = true, result = "null";
      if (!io->write(proto::make_result(m.id()->raw(), result))) return 1;
    } else if (m.kind() == proto::Kind::notification && m.method() == "exit") {
      return shutdown ? 0 : 1;
    }
  }
  return 0;
}
