// The cache interceptor's lazy policy (--on-hit=lazy): holding a document
// notification until its lookup is back, keeping a hit from the server, and
// bringing the server up to date when a request needs the document.
#include "interceptor_util.hpp"
#include "leanproxy/cache/interceptor.hpp"

namespace leanproxy::cache {

using detail::keep_crlf;
using protocol::Message;

bool CacheInterceptor::take_document_notification(const Message& m, const std::string& uri) {
  // Lazy: whether the server gets this notification now (false: the router
  // sends it), in its place once the lookup is back, as a full text, or never.
  // Unlike forward mode this holds even when the backend is busy: a
  // notification already sent could not be taken back on a hit.
  if (uri.empty()) return false;
  auto it = docs_.find(uri);
  Doc* d = it == docs_.end() ? nullptr : &it->second;  // null: opened while the server was down; it has it
  const std::string& method = m.method();
  if (method == "textDocument/didClose") {
    if (!d) return false;
    drop_hold(*d);
    return !d->server_open;  // the server never saw the document
  }
  const document::Document* doc = port_->documents().find(uri);
  if (!doc) return false;  // the store rejected it, as Lean will
  if (method == "textDocument/didOpen") {
    if (d) drop_hold(*d);
    bool restart = doc->dependency_build_mode && *doc->dependency_build_mode == "once";
    // A second didOpen of a document the server has open replaces it there.
    if (!options_.enabled || restart || (d && d->server_open)) return false;
    hold_next_ = port_->hold_server();
    hold_next_message_ = m.raw();
    return true;
  }
  if (!d) return false;
  bool on_server_text = d->server_open && d->server_version == d->v.number;  // the edit applies to the server's text
  if (doc->version == d->v.number) return !on_server_text;  // rejected or empty
  drop_hold(*d);  // superseded before its lookup came back: this version's text replaces it
  if (!options_.enabled && on_server_text) return false;
  hold_next_ = port_->hold_server();  // begin_version sends it at once when it cannot be served
  hold_next_message_ = on_server_text ? m.raw() : std::string();
  return true;
}

void CacheInterceptor::drop_hold(Doc& d) {
  // Lazy: a held notification nobody will need (superseded or closed).
  if (!d.v.hold) return;
  port_->release_hold(std::exchange(d.v.hold, 0), {});
  d.v.held_message.clear();
}

void CacheInterceptor::send_held(Doc& d) {
  // Lazy: the held notification goes to the server after all, in its place:
  // as the client sent it when it applies to the server's text, else as the
  // document's full text.
  Version& v = d.v;
  std::vector<std::string> bodies;
  if (!v.held_message.empty()) bodies.push_back(std::move(v.held_message));
  else
    for (auto& [method, params] : sync_notifications(d)) bodies.push_back(protocol::make_notification(method, params));
  v.held_message.clear();
  port_->release_hold(std::exchange(v.hold, 0), std::move(bodies));
  server_holds(d);
  std::vector<Message> waiting = std::move(v.waiting);
  v.waiting.clear();
  for (auto& w : waiting)
    if (!client_wait(w)) port_->forward_request(std::move(w));  // after the notification: its place was held
}

void CacheInterceptor::keep_from_server(Doc& d) {
  // Lazy: the hit stands for the version and the server is not told; its
  // copy falls behind until a request needs the document.
  Version& v = d.v;
  port_->release_hold(std::exchange(v.hold, 0), {});
  v.held_message.clear();
  v.lazy = true;
  for (auto& w : v.waiting) port_->to_client(protocol::make_result(w.id()->raw(), "{}"));
  v.waiting.clear();
}

void CacheInterceptor::bring_up_to_date(const std::string& uri) {
  // Lazy: a request the cache does not answer needs the server to hold the
  // document's current text first. After a crash the replay does that.
  if (!lazy() || server_lost_) return;
  auto it = docs_.find(uri);
  if (it == docs_.end()) return;
  Doc& d = it->second;
  if (d.v.hold) {
    send_held(d);
    return;
  }
  const document::Document* doc = port_->documents().find(uri);
  if (d.v.sent || !doc || doc->version != d.v.number) return;
  for (auto& [method, params] : sync_notifications(d)) port_->notify_server(method, params);
  server_holds(d);
}

std::vector<std::pair<std::string, std::string>> CacheInterceptor::sync_notifications(Doc& d) {
  // The current version for a server that lacks it: didOpen when it never saw
  // the document; a didChange with the whole text when it holds an older
  // version (the client's own edit applies to a text it lacks); didClose +
  // didOpen when a skipped version changed the header and this one changes it
  // back: Lean restarts the worker on every header change, and the server
  // would not (it sees no change).
  const document::Document* doc = port_->documents().find(d.uri);
  if (d.server_open && (!d.v.worker_start || d.v.header != d.header))
    return {{"textDocument/didChange", "{\"textDocument\":{\"uri\":" + json::quote(d.uri) + ",\"version\":" +
                                           std::to_string(doc->version) + "},\"contentChanges\":[{\"text\":" +
                                           json::quote(keep_crlf(doc->text)) + "}]}"}};
  std::vector<std::pair<std::string, std::string>> out;
  if (d.server_open) {
    out.push_back({"textDocument/didClose", "{\"textDocument\":{\"uri\":" + json::quote(d.uri) + "}}"});
    ++d.own_closes;
  }
  out.push_back({"textDocument/didOpen", document::DocumentStore::did_open_params(*doc)});
  return out;
}

}  // namespace leanproxy::cache
