// CheckEndpoint: `$/leanProxy/check` requests in, results out, in any order.
#include "leanproxy/daemon/check_endpoint.hpp"

#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/protocol/message.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::daemon {

using protocol::Message;
namespace ec = protocol::error_code;

CheckEndpoint::CheckEndpoint(io::EventLoop& loop, int fd, pool::CheckService& service, pool::CheckTarget target,
                             std::function<void()> on_done)
    : loop_(loop),
      stream_(std::make_unique<io::FramedStream>(loop, fd, fd, target.max_message, "check client")),
      service_(service),
      target_(std::move(target)),
      on_done_(std::move(on_done)) {}

CheckEndpoint::~CheckEndpoint() { stream_->close(); }

void CheckEndpoint::start() {
  stream_->start({
      [this](std::string body) { on_message(std::move(body)); },
      [](const std::string& problem) { log::warn("check client: " + problem); },
      [this](const std::string&) { done(); },
      [this] {
        log::warn("a check client stopped reading; closing it");
        done();
      },
      {},
  });
  stream_->set_queue_limit(64u << 20);
}

void CheckEndpoint::on_message(std::string body) {
  Message m = Message::parse(std::move(body));
  if (m.kind() == protocol::Kind::notification) {
    if (m.method() == "exit") stream_->when_flushed([this] { done(); });
    return;
  }
  if (m.kind() != protocol::Kind::request) {
    if (m.kind() == protocol::Kind::parse_error || m.kind() == protocol::Kind::invalid)
      stream_->send(protocol::make_error("null", m.kind() == protocol::Kind::parse_error ? ec::parse_error
                                                                                         : ec::invalid_request,
                                         m.problem()));
    return;
  }
  std::string id = m.id()->raw();
  if (m.method() == "initialize") {
    stream_->send(protocol::make_result(id, "{\"capabilities\":{},\"serverInfo\":{\"name\":\"lean-lsp-proxy checks\"}}"));
  } else if (m.method() == "shutdown") {
    stream_->send(protocol::make_result(id, "null"));
  } else if (m.method() == "$/leanProxy/check") {
    ++checks_;
    service_.check(target_, m.params(), [this, id, alive = std::weak_ptr<bool>(alive_)](pool::CheckReply r) {
      if (alive.expired() || done_) return;
      stream_->send(r.error ? protocol::make_error(id, r.code, r.body) : protocol::make_result(id, r.body));
    });
  } else {
    stream_->send(protocol::make_error(id, ec::method_not_found,
                                       "this connection runs checks only ($/leanProxy/check); got " + m.method()));
  }
}

void CheckEndpoint::done() {
  if (done_) return;
  done_ = true;
  // Posted: on_done may destroy this endpoint.
  loop_.post([cb = on_done_, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired()) cb();
  });
}

}  // namespace leanproxy::daemon
