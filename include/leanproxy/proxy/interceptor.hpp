// The seam between routing and features that answer or hold messages (the
// cache): the Router calls an Interceptor at fixed points and offers it a
// ProxyPort to speak through. Without an interceptor the proxy forwards all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "leanproxy/document/store.hpp"
#include "leanproxy/protocol/message.hpp"

namespace leanproxy::proxy {

/// What an interceptor may do.
class ProxyPort {
 public:
  virtual ~ProxyPort() = default;
  virtual void to_client(std::string body) = 0;
  /// Writes what was sent to the client so far now, rather than when the
  /// event being handled is done (an answer that must not wait for the
  /// rest of the work: a cache hit before its forward to the server).
  virtual void flush_client() {}
  /// Sends a request of the proxy's own (id "llp:N"); `on_reply` gets the
  /// server's response. Dropped without a call if the server dies first.
  virtual void request_server(std::string_view method, std::string_view params,
                              std::function<void(const protocol::Message&)> on_reply) = 0;
  virtual const document::DocumentStore& documents() const = 0;
  /// Sends a request of the proxy's own to the client (id "llp:N", e.g.
  /// `window/workDoneProgress/create`); the client's reply is consumed.
  virtual void request_client(std::string_view method, std::string_view params) {
    (void)method;
    (void)params;
  }
  /// Holds everything bound for the server until resume_server() (counted:
  /// each pause needs its resume). Used to send a cache hit before the
  /// server's work on the same version competes for the CPU.
  virtual void pause_server() = 0;
  /// Ends this pause and any that resume_server_soon() keeps.
  virtual void resume_server() = 0;
  /// Ends this pause a moment later: at the client's next message other than
  /// a document notification, at the next resume_server(), or after a
  /// couple of milliseconds (the client reads what it was just sent first).
  virtual void resume_server_soon() { resume_server(); }
  /// Sends a client request the interceptor held back on to the server, as if
  /// it had just arrived (its reply then goes to the client as usual).
  virtual void forward_request(protocol::Message m) = 0;
  /// Sends a notification of the proxy's own to the server, in order with
  /// the client's messages (e.g. a document's full text in place of an edit).
  virtual void notify_server(std::string_view method, std::string_view params) = 0;
  /// Keeps a place in the server's input for a message decided on later:
  /// everything bound for the server after it waits behind it (order kept)
  /// until release_hold(). A server exit discards open holds (the replay
  /// carries every document's current text).
  virtual std::uint64_t hold_server() = 0;
  /// Puts `bodies` in the held place, in order (none: nothing), and lets
  /// what waited go.
  virtual void release_hold(std::uint64_t hold, std::vector<std::string> bodies) = 0;
};

class Interceptor {
 public:
  virtual ~Interceptor() = default;
  virtual void attach(ProxyPort& port) { port_ = &port; }

  /// The client's `initialize` params (capability flags live there).
  virtual void client_initialize(std::string_view params) { (void)params; }
  /// A client request; true when the interceptor answered it itself.
  virtual bool client_request(const protocol::Message& m) { (void)m; return false; }
  /// A didOpen / didChange / didClose the store applied, before it is passed
  /// on towards the server (the interceptor may pause_server() here). True
  /// when the interceptor took it: the router then does not send it, the
  /// interceptor sends it or what replaces it (hold_server, notify_server),
  /// or nothing. `uri`: the document's, as the store read it (empty when the
  /// params name none).
  virtual bool before_document_notification(const protocol::Message& m, const std::string& uri) {
    (void)m;
    (void)uri;
    return false;
  }
  /// A didOpen / didChange / didClose (`method`), after the store applied
  /// it and it was passed on towards the server (or taken by
  /// before_document_notification): the message itself is gone (its bytes
  /// were moved, not copied, towards the server); the store has the text.
  virtual void document_notification(const std::string& method, const std::string& uri) {
    (void)method;
    (void)uri;
  }
  /// Any other client notification (didSave, didChangeWatchedFiles, …),
  /// after it was passed on towards the server.
  virtual void client_notification(const protocol::Message& m) { (void)m; }
  /// A server notification; true to keep it from the client.
  virtual bool server_notification(const protocol::Message& m) { (void)m; return false; }
  /// The server's reply to a client request of `method`; true to hold it
  /// (the interceptor then delivers it itself, exactly once).
  virtual bool server_reply(const protocol::Message& m, const std::string& method) {
    (void)m;
    (void)method;
    return false;
  }
  /// A server generation started (its documents have been replayed) or ended.
  virtual void server_started(std::uint64_t generation) { (void)generation; }
  virtual void server_exited() {}

 protected:
  ProxyPort* port_ = nullptr;
};

}  // namespace leanproxy::proxy
