// Routing rules for one session; see router.hpp for the invariants.
#include "leanproxy/proxy/router.hpp"

#include <algorithm>

#include "leanproxy/protocol/id_map.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::proxy {

using protocol::Id;
using protocol::Kind;
using protocol::Message;
namespace ec = protocol::error_code;

namespace {

constexpr int kMessageError = 1, kMessageWarning = 2, kMessageInfo = 3;

// The notifications the document store applies.
bool is_document_method(std::string_view method) {
  return method == "textDocument/didOpen" || method == "textDocument/didChange" || method == "textDocument/didClose";
}

// Registration ids in client/registerCapability params, or nullopt if any
// registration lacks one (then the request is always forwarded).
std::optional<std::vector<std::string>> registration_ids(std::string_view params) {
  auto regs = json::member(params, "registrations");
  if (!regs) return std::nullopt;
  std::vector<std::string> ids;
  json::ArrayReader r(*regs);
  std::string_view reg;
  while (r.next(reg)) {
    auto id_raw = json::member(reg, "id");
    auto id = id_raw ? json::decode_string(*id_raw) : std::nullopt;
    if (!id) return std::nullopt;
    ids.push_back(std::move(*id));
  }
  if (!r.ok() || ids.empty()) return std::nullopt;
  return ids;
}

}  // namespace

std::chrono::milliseconds Router::backoff(int n) {
  if (n <= 1) return std::chrono::milliseconds(0);
  long ms = 100L << std::min(n - 2, 6);
  return std::chrono::milliseconds(std::min(ms, 5000L));
}

Id Router::next_own_id() { return protocol::own_id(next_own_++); }

void Router::to_server(std::string body, bool document) {
  if (phase_ == Phase::running && paused_ == 0 && queue_.empty()) io_.send_to_server(std::move(body));
  else queue_.push_back(Outgoing{std::move(body), 0, document});
}

void Router::flush_queue() {
  while (phase_ == Phase::running && paused_ == 0 && !queue_.empty() && queue_.front().hold == 0) {
    std::string body = std::move(queue_.front().body);
    queue_.pop_front();
    if (!body.empty()) io_.send_to_server(std::move(body));
  }
}

void Router::resume_server_soon() {
  // After a cache hit the server would start checking the served version at
  // once (Lean forks a worker for a didOpen: a burst on every core) while
  // the editor still has to wake up and read the answer. What the server
  // does with that version is only a verification: it can start a moment
  // later, or as soon as the client asks anything (what it asks then goes
  // after the notification, in order).
  ++resume_soon_;
  io_.after(std::chrono::milliseconds(2), [this] { end_resume_soon(); });
}

void Router::end_resume_soon() {
  paused_ = std::max(0, paused_ - resume_soon_);
  resume_soon_ = 0;
  flush_queue();
}

void Router::resume_server() {
  if (paused_ == 0) return;  // a resume for a pause that a server restart already cleared
  --paused_;
  // A plain resume (a lookup that missed: the server must start now) ends
  // the short holds too.
  end_resume_soon();
}

std::uint64_t Router::hold_server() {
  queue_.push_back(Outgoing{{}, ++next_hold_, true});
  return next_hold_;
}

void Router::release_hold(std::uint64_t hold, std::vector<std::string> bodies) {
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Outgoing& o) { return o.hold == hold; });
  if (hold == 0 || it == queue_.end()) return;  // discarded by a server exit
  it->hold = 0;
  if (!bodies.empty()) it->body = std::move(bodies.front());
  for (std::size_t i = 1; i < bodies.size(); ++i)
    it = queue_.insert(std::next(it), Outgoing{std::move(bodies[i]), 0, true});
  flush_queue();
}

void Router::notify_server(std::string_view method, std::string_view params) {
  bool document = is_document_method(method);
  if (document && phase_ != Phase::running && generation_ > 0) return;  // the replay carries the document
  to_server(protocol::make_notification(method, params), document);
}

std::string Router::apply_document(const Message& m) {
  std::string problem, uri;
  const std::string& method = m.method();
  if (method == "textDocument/didOpen") problem = docs_.did_open(m.params(), &uri);
  else if (method == "textDocument/didChange") problem = docs_.did_change(m.params(), &uri);
  else if (method == "textDocument/didClose") problem = docs_.did_close(m.params(), &uri);
  if (!problem.empty()) log::warn("document store: " + problem + " (ignored by the store, forwarded as is)");
  return uri;
}

void Router::from_client(Message m) {
  // A request or any other notification ends the short holds; a document
  // notification (the didOpen after a didClose) may take its own.
  if (resume_soon_ > 0 && !(m.kind() == Kind::notification && is_document_method(m.method()))) end_resume_soon();
  ++stats_.client_messages;
  stats_.client_bytes += m.raw().size();
  switch (m.kind()) {
    case Kind::parse_error:
      log::warn("client sent invalid JSON (" + std::to_string(m.raw().size()) + " bytes); replied with a parse error");
      io_.send_to_client(protocol::make_error("null", ec::parse_error, "Parse error: " + m.problem()));
      return;
    case Kind::invalid:
      log::warn("client sent an invalid JSON-RPC message: " + m.problem());
      io_.send_to_client(protocol::make_error("null", ec::invalid_request, "Invalid request: " + m.problem()));
      return;
    case Kind::response: {
      if (!m.id()) {
        log::warn("client sent a response with a null id; dropped");
        return;
      }
      if (own_client_requests_.erase(m.id()->key())) return;  // e.g. a replayed registration accepted
      auto it = server_pending_.find(m.id()->key());
      if (it == server_pending_.end()) {
        if (stale_server_requests_.erase(m.id()->key()))
          log::debug("client answered a request of a server that has since exited; dropped");
        else
          log::warn("client sent a response to unknown request id " + m.id()->raw() + "; dropped");
        return;
      }
      ServerRequest sr = std::move(it->second);
      server_pending_.erase(it);
      if (sr.original == *m.id()) to_server(std::move(m).take_raw());
      else to_server(m.with_id(sr.original.raw()));
      return;
    }
    case Kind::request: {
      const std::string& method = m.method();
      if (method == "initialize") {
        initialize_raw_ = std::string(m.params().empty() ? std::string_view("{}") : m.params());
        initialize_answered_ = false;
        if (interceptor_) interceptor_->client_initialize(*initialize_raw_);
        if (adopted_result_ && generation_ <= 1) {
          // The pooled server answered the pool's initialize: answer the
          // client's with that result, as the server's own reply.
          Id wire = protocol::needs_escape(*m.id()) ? protocol::escape(*m.id()) : *m.id();
          bool fresh = false;
          pending_.emplace(wire, fresh) = Pending{*m.id(), "initialize", {}};
          from_server(Message::parse(protocol::make_result(wire.raw(), *adopted_result_)));
          return;
        }
      } else if (method == "shutdown") {
        shutdown_received_ = true;
      } else if (interceptor_ && interceptor_->client_request(m)) {
        return;  // answered by the interceptor
      }
      forward_request(std::move(m));
      return;
    }
    case Kind::notification: {
      const std::string& method = m.method();
      if (method == "exit") {
        exit_received_ = true;
        to_server(std::move(m).take_raw());
        return;
      }
      if (method == "initialized") {
        initialized_received_ = true;
        if (adopted_result_ && generation_ <= 1) {
          // The pooled server had its `initialized`; the client gets the
          // registrations the server asked for, as it would have from the server.
          for (auto& params : adopted_registrations_) {
            if (auto ids = registration_ids(params)) registrations_.insert(ids->begin(), ids->end());
            Id id = next_own_id();
            own_client_requests_.insert(id.key());
            io_.send_to_client(protocol::make_request(id.raw(), "client/registerCapability", params));
          }
          adopted_registrations_.clear();
          return;
        }
      }
      if (method == "$/cancelRequest") {
        auto raw = json::member(m.params(), "id");
        auto id = raw ? Id::from_raw(*raw) : std::nullopt;
        if (id && protocol::needs_escape(*id)) {
          to_server(protocol::make_notification(method, "{\"id\":" + protocol::escape(*id).raw() + "}"));
          return;
        }
      }
      bool is_doc = is_document_method(method);
      std::string uri = is_doc ? apply_document(m) : std::string();
      // While a restarted server is pending, the replay carries the documents'
      // current state; queueing the edit as well would apply it twice.
      if (is_doc && phase_ != Phase::running && generation_ > 0) return;
      if (!m.has_params()) {
        log::debug("client notification '" + method + "' without params; sending {} (Lean requires params)");
        to_server(m.with_empty_params(), is_doc);
        return;
      }
      if (is_doc && interceptor_) {
        // The bytes move on (a didOpen's can be megabytes); `method` stays.
        if (!interceptor_->before_document_notification(m, uri)) to_server(std::move(m).take_raw(), true);
        interceptor_->document_notification(method, uri);
        return;
      }
      if (interceptor_) {
        to_server(m.raw());
        interceptor_->client_notification(m);
        return;
      }
      to_server(std::move(m).take_raw(), is_doc);
      return;
    }
  }
}

void Router::from_server(Message m) {
  ++stats_.server_messages;
  stats_.server_bytes += m.raw().size();
  switch (m.kind()) {
    case Kind::parse_error:
    case Kind::invalid:
      log::warn("server sent a bad message (" + m.problem() + "); dropped");
      return;
    case Kind::response: {
      if (!m.id()) {
        log::warn("server sent an error reply with a null id; dropped: " + std::string(m.error()));
        return;
      }
      if (protocol::is_own_id(*m.id())) {
        auto own = own_pending_.find(m.id()->key());
        if (own == own_pending_.end()) {
          log::debug("reply to an own request that is no longer pending; dropped");
          return;
        }
        auto on_reply = std::move(own->second);
        own_pending_.erase(own);
        on_reply(m);
        return;
      }
      Pending* p = pending_.find(*m.id());
      if (!p) {
        log::warn("server sent a response to unknown request id " + m.id()->raw() + "; dropped");
        return;
      }
      std::string method = std::move(p->method);
      Id original = std::move(p->id);
      if (method == "initialize") initialize_answered_ = true;
      pending_.erase(*m.id());
      if (!(original == *m.id())) m = Message::parse(m.with_id(original.raw()));  // an escaped id
      if (interceptor_ && interceptor_->server_reply(m, method)) return;
      io_.send_to_client(std::move(m).take_raw());
      return;
    }
    case Kind::request:
      forward_server_request(m);
      return;
    case Kind::notification:
      if (interceptor_ && interceptor_->server_notification(m)) return;
      io_.send_to_client(std::move(m).take_raw());
      return;
  }
}

void Router::adopt(std::string initialize_result, std::vector<std::string> registrations) {
  adopted_result_ = std::move(initialize_result);
  adopted_registrations_ = std::move(registrations);
}

void Router::forward_request(Message m) {
  // An id in our own namespace is escaped, so the server's reply can never be
  // taken for the reply to one of our own requests.
  const Id& id = *m.id();
  std::optional<Id> escaped;
  if (protocol::needs_escape(id)) escaped = protocol::escape(id);
  const Id& wire = escaped ? *escaped : id;
  bool fresh = false;
  Pending& p = pending_.emplace(wire, fresh);
  if (!fresh) log::warn("client reused request id " + id.raw() + " while it was still pending");
  p.id = id;
  // The message is consumed here: its body and method move, not copy.
  std::string body = escaped ? m.with_id(wire.raw()) : std::move(m).take_raw();
  p.method = std::move(m).take_method();
  if (p.method == "initialize") p.raw = body;
  else p.raw.clear();
  to_server(std::move(body));
}

void Router::request_server(std::string_view method, std::string_view params,
                            std::function<void(const Message&)> on_reply) {
  Id id = next_own_id();
  own_pending_[id.key()] = std::move(on_reply);
  to_server(protocol::make_request(id.raw(), method, params));
}

void Router::request_client(std::string_view method, std::string_view params) {
  Id id = next_own_id();
  own_client_requests_.insert(id.key());  // the client's reply is consumed in from_client
  io_.send_to_client(protocol::make_request(id.raw(), method, params));
}

void Router::forward_server_request(const Message& m) {
  if (m.method() == "client/registerCapability") {
    auto ids = registration_ids(m.params());
    if (ids) {
      bool all_known = std::all_of(ids->begin(), ids->end(), [&](auto& id) { return registrations_.count(id) > 0; });
      if (all_known && generation_ > 1) {
        // The client already holds these registrations from the server's
        // predecessor; registering them again would fail in VS Code.
        io_.send_to_server(protocol::make_result(m.id()->raw(), "null"));
        return;
      }
      registrations_.insert(ids->begin(), ids->end());
    }
  }
  Id out = generation_ > 1 ? protocol::tag(generation_, *m.id()) : *m.id();
  server_pending_[out.key()] = ServerRequest{*m.id(), generation_};
  io_.send_to_client(out == *m.id() ? m.raw() : m.with_id(out.raw()));
}

void Router::server_started() {
  ++generation_;
  if (generation_ == 1 || !initialize_raw_) {
    phase_ = Phase::running;
    flush_queue();
    if (interceptor_) interceptor_->server_started(generation_);
    return;
  }
  if (!initialize_answered_) {
    // The client's own initialize was in flight when the server died: send
    // it again as is; its reply is the client's.
    if (Pending* p = pending_.find_if([](const Pending& p) { return p.method == "initialize"; }))
      io_.send_to_server(p->raw);
    finish_replay();
    return;
  }
  Id id = next_own_id();
  own_pending_[id.key()] = [this](const Message& reply) {
    if (reply.is_error()) log::warn("restarted server rejected the replayed initialize: " + std::string(reply.error()));
    finish_replay();
  };
  io_.send_to_server(protocol::make_request(id.raw(), "initialize", *initialize_raw_));
  phase_ = Phase::replaying;
}

void Router::finish_replay() {
  if (initialized_received_) io_.send_to_server(protocol::make_notification("initialized", "{}"));
  auto docs = docs_.in_open_order();
  for (const auto* d : docs)
    io_.send_to_server(protocol::make_notification("textDocument/didOpen", document::DocumentStore::did_open_params(*d)));
  phase_ = Phase::running;
  flush_queue();
  if (interceptor_) interceptor_->server_started(generation_);
  std::string msg = "lean-lsp-proxy: language server restarted";
  if (!docs.empty()) msg += "; re-opened " + std::to_string(docs.size()) + " document(s)";
  log::info(msg);
  io_.send_to_client(protocol::make_log_message(kMessageInfo, msg));
}

bool Router::server_exited(const std::string& why, Clock::time_point now) {
  phase_ = Phase::starting;
  paused_ = resume_soon_ = 0;
  // The replay re-opens every document with its current text: an edit or a
  // hold still queued for the dead server would apply twice.
  std::erase_if(queue_, [](const Outgoing& o) { return o.document; });
  own_pending_.clear();
  if (interceptor_) interceptor_->server_exited();
  for (auto& [key, _] : server_pending_) stale_server_requests_.insert(key);
  server_pending_.clear();
  if (exit_received_ || own_shutdown_sent_) return false;  // the session is ending

  crash_times_.push_back(now);
  while (!crash_times_.empty() && now - crash_times_.front() > policy_.window) crash_times_.pop_front();
  bool give_up = static_cast<int>(crash_times_.size()) > policy_.max_restarts;

  // Every request in flight gets an answer now; only a client initialize that
  // was never answered survives a restart (it is re-sent), unless we give up.
  pending_.erase_if([&](const Pending& p) {
    if (p.method == "initialize" && !initialize_answered_ && !give_up) return false;
    io_.send_to_client(protocol::make_error(p.id.raw(), ec::internal_error,
                                            "lean-lsp-proxy: the language server exited (" + why +
                                                ") before answering '" + p.method + "'" +
                                                (give_up ? "" : "; it is being restarted")));
    return true;
  });
  auto window_s = std::to_string(policy_.window.count() / 1000);
  if (give_up) {
    std::string msg = "lean-lsp-proxy: the language server crashed " + std::to_string(crash_times_.size()) +
                      " times within " + window_s + " s (last: " + why +
                      "); not restarting it again. Restart the server from your editor once the cause is fixed.";
    log::error(msg);
    io_.send_to_client(protocol::make_log_message(kMessageError, msg, /*show=*/true));
    return false;
  }
  ++stats_.server_restarts;
  std::string msg = "lean-lsp-proxy: the language server exited unexpectedly (" + why + "); restarting it (" +
                    std::to_string(crash_times_.size()) + "/" + std::to_string(policy_.max_restarts) +
                    " within " + window_s + " s)";
  log::warn(msg);
  io_.send_to_client(protocol::make_log_message(kMessageWarning, msg));
  return true;
}

void Router::client_closed() {
  if (exit_received_ || own_shutdown_sent_) return;
  own_shutdown_sent_ = true;
  if (phase_ != Phase::running) return;  // no live server to be polite to
  if (shutdown_received_) {
    own_shutdown_done_ = true;
    io_.send_to_server(protocol::make_notification("exit", "{}"));
    return;
  }
  Id id = next_own_id();
  own_pending_[id.key()] = [this](const Message&) {
    own_shutdown_done_ = true;
    io_.send_to_server(protocol::make_notification("exit", "{}"));
  };
  io_.send_to_server(protocol::make_request(id.raw(), "shutdown", ""));
}

}  // namespace leanproxy::proxy
