// ServerConnection: spawn, frame, match replies, answer server requests.
#include "leanproxy/pool/server_connection.hpp"

#include <charconv>

#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/shims/shim.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::pool {

using namespace std::chrono_literals;
using protocol::Message;

namespace {
constexpr std::size_t kQueueLimit = 32u << 20;  // as a session's: a server that stops reading is hung
// Our ids are in the proxy's own namespace ("llp:N") far above what a
// session's router counts to: a reply that arrives after a pooled server was
// handed to a session is then dropped by its router as a stale own reply,
// never taken for the reply to a client's request.
constexpr std::int64_t kIdBase = 1'000'000'000'000;

std::string wire_id(std::int64_t n) { return protocol::own_id(static_cast<std::uint64_t>(kIdBase + n)).raw(); }
std::optional<std::int64_t> local_id(const protocol::Id& id) {
  if (!protocol::is_own_id(id)) return std::nullopt;
  auto digits = id.string_value().substr(4);  // after "llp:"
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n <= kIdBase) return std::nullopt;
  return n - kIdBase;
}
}  // namespace

ServerConnection::ServerConnection(io::EventLoop& loop, io::ServerProcess::Spec spec, std::size_t max_message,
                                   Handlers handlers)
    : loop_(loop), spec_(std::move(spec)), max_message_(max_message), handlers_(std::move(handlers)) {
  // Marked like a session's server: a `lake` shim must not start a proxy.
  spec_.env = shims::server_environment(spec_.env);
}

ServerConnection::~ServerConnection() {
  if (stream_) stream_->close();
  if (process_ && process_->running()) process_->kill();
}

pid_t ServerConnection::pid() const { return process_ ? process_->pid() : -1; }

void ServerConnection::start(const std::string& initialize_params, std::function<void(bool, std::string)> ready) {
  std::weak_ptr<bool> alive = token_;
  process_ = io::ServerProcess::spawn(
      loop_, spec_,
      {[](const std::string& line) { log::info("check server: " + line); },
       [this, alive](int, const std::string& desc) {
         if (alive.expired()) return;
         exit_description_ = desc;
         gone_part(true);
       }});
  stream_ = std::make_unique<io::FramedStream>(loop_, process_->take_stdout_fd(), process_->take_stdin_fd(),
                                               max_message_, "check server");
  stream_->start({
      [this](std::string body) { on_message(std::move(body)); },
      [](const std::string& problem) { log::warn("check server: " + problem); },
      [this](const std::string& why) {
        if (why != "eof") log::warn("check server output: " + why);
        gone_part(false);
      },
      [this] {
        log::error("a check server stopped reading its input; ending it");
        kill();
      },
      {},
  });
  stream_->set_queue_limit(kQueueLimit);
  alive_ = true;
  request("initialize", initialize_params, [this, ready = std::move(ready)](const Message& reply) {
    if (reply.is_error()) {
      ready(false, std::string(reply.error()));
      return;
    }
    notify("initialized", "{}");
    ready(true, std::string(reply.result()));
  });
}

std::int64_t ServerConnection::request(std::string_view method, const std::string& params,
                                       std::function<void(const Message&)> on_reply) {
  std::int64_t id = next_id_++;
  if (!alive_) {
    // Answered on the loop, never inside the caller's own call.
    loop_.post([cb = std::move(on_reply), id] {
      cb(Message::parse(protocol::make_error(wire_id(id), protocol::error_code::internal_error,
                                             "the server is not running")));
    });
    return id;
  }
  pending_[id] = std::move(on_reply);
  stream_->send(protocol::make_request(wire_id(id), method, params));
  return id;
}

void ServerConnection::notify(std::string_view method, const std::string& params) {
  if (alive_) stream_->send(protocol::make_notification(method, params));
}

void ServerConnection::cancel(std::int64_t id) {
  if (pending_.count(id)) notify("$/cancelRequest", "{\"id\":" + wire_id(id) + "}");
}

void ServerConnection::shutdown() {
  if (!alive_) return;
  request("shutdown", "", [this](const Message&) { notify("exit", "{}"); });
  kill_timer_ = loop_.after(3000ms, [this] { kill(); });
}

ServerConnection::Released ServerConnection::release() {
  token_ = std::make_shared<bool>(true);  // callbacks bound to the old token are void now
  alive_ = false;
  reported_ = true;
  kill_timer_.reset();
  pending_.clear();
  if (stream_) stream_->set_handlers({});
  if (process_) process_->set_callbacks({});
  return {std::move(process_), std::move(stream_)};
}

void ServerConnection::kill() {
  if (process_ && process_->running()) process_->kill();
}

void ServerConnection::on_message(std::string body) {
  Message m = Message::parse(std::move(body));
  switch (m.kind()) {
    case protocol::Kind::response: {
      auto n = m.id() ? local_id(*m.id()) : std::nullopt;
      auto it = n ? pending_.find(*n) : pending_.end();
      if (it == pending_.end()) return;  // e.g. a reply after we gave up on it
      auto cb = std::move(it->second);
      pending_.erase(it);
      cb(m);
      return;
    }
    case protocol::Kind::request:
      if (handlers_.on_request) handlers_.on_request(m);
      stream_->send(protocol::make_result(m.id()->raw(), "null"));
      return;
    case protocol::Kind::notification:
      if (handlers_.on_notification) handlers_.on_notification(m);
      return;
    default:
      log::warn("check server sent an invalid message: " + m.problem());
  }
}

void ServerConnection::fail_pending(const std::string& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, cb] : pending)
    cb(Message::parse(protocol::make_error(wire_id(id), protocol::error_code::internal_error, why)));
}

void ServerConnection::gone_part(bool process) {
  (process ? process_ended_ : output_closed_) = true;
  if (!process_ended_ && output_closed_ && !kill_timer_) {
    // Output closed but the process lives on: it is stuck.
    kill_timer_ = loop_.after(2000ms, [this] { kill(); });
  }
  if (!process_ended_ || !output_closed_ || reported_) return;
  reported_ = true;
  alive_ = false;
  kill_timer_.reset();
  if (stream_) stream_->close();
  std::string why = "the Lean server ended (" + exit_description_ + ")";
  fail_pending(why);
  // Posted: the owner may destroy this connection in on_exit.
  loop_.post([cb = handlers_.on_exit, why, alive = std::weak_ptr<bool>(token_)] {
    if (!alive.expired() && cb) cb(why);
  });
}

}  // namespace leanproxy::pool
