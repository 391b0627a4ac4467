// Cache interception state machine; see interceptor.hpp for the rules.
#include "leanproxy/cache/interceptor.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "interceptor_util.hpp"
#include "leanproxy/cache/diagnostic_kinds.hpp"
#include "leanproxy/lean/header.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/uri.hpp"

namespace leanproxy::cache {

using protocol::Message;
using detail::integer;
using detail::str;

namespace {

std::string reason_category(const std::string& reason) {
  if (reason.rfind("unresolved import", 0) == 0) return "unresolved import";
  return reason;
}

std::string header_syntax(const std::string& text) { return lean::parse_header(text).signature; }

// The document a request is about: `textDocument.uri`, else `uri` ($/lean/rpc/connect).
std::optional<std::string> request_uri(std::string_view params) {
  if (auto uri = str(params, {"textDocument", "uri"})) return uri;
  return str(params, {"uri"});
}

// The publishDiagnostics the proxy sends itself (a hit, or a correction).
std::string publish(const std::string& uri, std::int64_t version, const std::string& diagnostics) {
  return protocol::make_notification("textDocument/publishDiagnostics", "{\"uri\":" + json::quote(uri) +
                                                                            ",\"version\":" + std::to_string(version) +
                                                                            ",\"diagnostics\":" + diagnostics + "}");
}

}  // namespace

bool same_diagnostics(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto pa = nlohmann::json::parse(a, nullptr, false);
  auto pb = nlohmann::json::parse(b, nullptr, false);
  return !pa.is_discarded() && !pb.is_discarded() && pa == pb;
}

CacheInterceptor::CacheInterceptor(Backend& backend, ServerSpec spec, InterceptOptions options)
    : backend_(backend), spec_(std::move(spec)), options_(options) {}

void CacheInterceptor::client_initialize(std::string_view params) {
  // What Lean reads from initialize and hands to every worker changes its output.
  auto flag = [&](std::initializer_list<std::string_view> p) {
    auto raw = json::path(params, p);
    return raw && *raw == "true";
  };
  bool silent = flag({"capabilities", "lean", "silentDiagnosticSupport"});
  incremental_ = flag({"capabilities", "lean", "incrementalDiagnosticSupport"});
  bool widgets = flag({"initializationOptions", "hasWidgets"});
  spec_.client_flags = std::string("silent=") + (silent ? "1" : "0") + " incremental=" + (incremental_ ? "1" : "0") +
                       " widgets=" + (widgets ? "1" : "0");
  backend_.refresh_identity(spec_);
}

void CacheInterceptor::server_started(std::uint64_t generation) {
  server_lost_ = false;
  // The first server's identity is read once the client's initialize brings
  // the capability flags; a restarted server's is re-read now (toolchain and
  // search path may have changed).
  if (generation <= 1) return;
  backend_.refresh_identity(spec_);
  for (auto it = docs_.begin(); it != docs_.end();) {  // closed while the server was down
    if (port_->documents().find(it->first)) {
      ++it;
    } else {
      release_waits(it->second.v);
      it = docs_.erase(it);
    }
  }
  // The router replayed every open document with its current text (those
  // served lazily and those opened while the server was down included): the
  // server holds each, in a fresh worker.
  for (const auto* doc : port_->documents().in_open_order()) {
    Doc& d = docs_[doc->uri];
    d.uri = doc->uri;
    begin_version(d, /*worker_start=*/true, /*bypass=*/false, header_syntax(doc->text));
  }
}

void CacheInterceptor::server_exited() {
  server_lost_ = true;
  for (auto& [uri, d] : docs_) {
    release_waits(d.v);  // their requests were already answered with errors by the router
    fail_waiting(d.v, protocol::error_code::internal_error, "the language server exited");
    d.v.held.clear();
    d.v.hold = 0;  // the router dropped it: the replay carries the document's text
    d.v.held_message.clear();
    d.v.lookup = Lookup::miss;
    d.v.finished = true;  // its own wait died with the server
    d.server_open = false;
  }
  client_waits_.clear();
  answer_requests_.clear();
  close_clears_.clear();  // a dead server sends no more clears
}

bool CacheInterceptor::before_document_notification(const Message& m, const std::string& uri) {
  if (lazy()) return take_document_notification(m, uri);
  // When the answer can come at once, hold the server's input until it has:
  // a hit then reaches the editor before the server starts competing for the
  // CPU with its own work on the same version. Never when the backend is
  // busy (identity being read): a miss must not wait for that.
  if (!options_.enabled || !backend_.ready()) return false;
  port_->pause_server();
  if (m.method() == "textDocument/didClose") {
    // A close is often a reopen's first half: the server's teardown of the
    // document's worker (a process exit) would compete with the reopen's hit
    // too. It waits for the reopen's lookup: a miss, the client's next
    // request, or 2 ms end that wait.
    port_->resume_server_soon();
    return false;
  }
  pause_next_ = true;
  return false;
}

void CacheInterceptor::fail_waiting(Version& v, int code, const std::string& why) {
  for (auto& w : v.waiting) port_->to_client(protocol::make_error(w.id()->raw(), code, "lean-lsp-proxy: " + why));
  v.waiting.clear();
}

void CacheInterceptor::document_notification(const std::string& method, const std::string& uri) {
  // A pause that no query took over (the message was rejected) ends here; so
  // does a hold no version took over (none should: only what begins a
  // version is held), rather than blocking the server's input for good.
  struct Unpause {
    CacheInterceptor& self;
    ~Unpause() {
      if (self.pause_next_) {
        self.pause_next_ = false;
        self.port_->resume_server();
      }
      if (self.hold_next_) {
        std::vector<std::string> bodies;
        if (!self.hold_next_message_.empty()) bodies.push_back(std::move(self.hold_next_message_));
        self.port_->release_hold(std::exchange(self.hold_next_, 0), std::move(bodies));
        self.hold_next_message_.clear();
      }
    }
  } unpause{*this};
  if (uri.empty()) return;
  if (method == "textDocument/didClose") {
    auto it = docs_.find(uri);
    if (it != docs_.end()) {
      if (it->second.server_open) ++close_clears_[uri];
      release_waits(it->second.v);
      fail_waiting(it->second.v, protocol::error_code::content_modified, "the document was closed");
      docs_.erase(it);
    }
    return;
  }
  const document::Document* doc = port_->documents().find(uri);
  if (!doc) return;
  if (method == "textDocument/didOpen") {
    Doc& d = docs_[uri];
    release_waits(d.v);
    fail_waiting(d.v, protocol::error_code::content_modified, "the document was opened again");
    d = Doc{};
    d.uri = uri;
    // vscode-lean4's "Restart File" is didClose + didOpen with "once": the
    // user restarts precisely to refresh, so that open is not served.
    bool restart = doc->dependency_build_mode && *doc->dependency_build_mode == "once";
    begin_version(d, /*worker_start=*/true, restart, header_syntax(doc->text));
    return;
  }
  // didChange
  auto it = docs_.find(uri);
  if (it == docs_.end() || doc->version == it->second.v.number) return;  // rejected or empty change
  Doc& d = it->second;
  std::string header = header_syntax(doc->text);
  // Lean restarts the worker when the header's syntax changes (not for
  // whitespace or comments): fresh imports, no sticky notes. What counts is
  // the text the server holds, which lazily served versions never reached.
  bool worker_start = !d.server_open || header != d.header;
  release_waits(d.v);
  begin_version(d, worker_start, false, std::move(header));
}

void CacheInterceptor::client_notification(const Message& m) {
  // Lean's watchdog marks every open document that imports a changed file as
  // stale (its worker keeps the old imports and shows a sticky note), whatever
  // the file's content now: a touch or an undone edit count too.
  std::vector<std::string> paths;
  if (m.method() == "workspace/didChangeWatchedFiles") {
    auto changes = json::member(m.params(), "changes");
    if (!changes) return;
    json::ArrayReader r(*changes);
    std::string_view c;
    while (r.next(c))
      if (auto uri = str(c, {"uri"})) paths.push_back(util::uri_path(*uri));
  } else if (m.method() == "textDocument/didSave") {
    if (auto uri = str(m.params(), {"textDocument", "uri"})) paths.push_back(util::uri_path(*uri));
  } else {
    return;
  }
  if (paths.empty()) return;
  backend_.modules_of(std::move(paths), [this](std::vector<std::string> modules) { mark_dependents_stale(modules); });
}

void CacheInterceptor::mark_dependents_stale(const std::vector<std::string>& modules) {
  for (auto& [uri, d] : docs_) {
    if (d.stale) continue;
    for (const auto& mod : modules) {
      if (!d.worker_modules || std::find(d.worker_modules->begin(), d.worker_modules->end(), mod) ==
                                   d.worker_modules->end())
        continue;
      d.stale = true;
      log::info("cache: " + mod + " changed; " + uri + " is not served or stored until it is restarted");
      break;
    }
  }
}

void CacheInterceptor::begin_version(Doc& d, bool worker_start, bool bypass, std::string header) {
  const document::Document* doc = port_->documents().find(d.uri);
  if (!doc) return;
  std::vector<Message> waiting = std::move(d.v.waiting);  // a superseded held version's: Lean answers them with a newer one
  // Lean would have restarted the worker for a version the server never got.
  if (!d.v.sent && d.v.worker_start) d.restart_skipped = true;
  d.v = Version{};
  Version& v = d.v;
  v.number = doc->version;
  v.query = ++next_query_;
  v.worker_start = worker_start || d.restart_skipped;
  v.header = std::move(header);
  v.bypass = bypass;
  v.hold = std::exchange(hold_next_, 0);
  v.held_message = std::move(hold_next_message_);
  hold_next_message_.clear();
  // A version that restarts the worker is checked by a fresh one: the old
  // worker's stale imports do not apply to it.
  bool servable = options_.enabled && !bypass && !(d.stale && !v.worker_start);
  if (!v.hold) server_holds(d);      // sent as the client sent it, as a full text, or replayed
  else if (!servable) send_held(d);  // lazy: only a hit keeps a notification from the server
  for (auto& w : waiting) {
    if (v.hold) v.waiting.push_back(std::move(w));
    else if (!client_wait(w)) port_->forward_request(std::move(w));
  }
  std::string build_mode = doc->dependency_build_mode.value_or("always");
  std::string uri = d.uri;
  bool paused = std::exchange(pause_next_, false);
  // A hit is sent first, then the server gets its input.
  auto resume = [this, paused](const std::string& uri, std::uint64_t query) {
    if (!paused) return;
    auto it = docs_.find(uri);
    bool hit = it != docs_.end() && it->second.v.query == query && it->second.v.lookup == Lookup::hit;
    if (hit) port_->resume_server_soon();  // the editor reads the answer first
    else port_->resume_server();
  };
  if (auto a = backend_.answer_now({uri, doc->version, doc->text, build_mode, servable})) {
    std::string record = a->diagnostics ? a->key.digest : std::string();
    on_answer(uri, v.query, std::move(*a));  // a repeat: no hand-off to the worker and back
    resume(uri, v.query);
    if (!record.empty()) backend_.served(record);
    return;
  }
  backend_.query({uri, doc->version, doc->text, std::move(build_mode), servable},
                 [this, uri, query = v.query, resume](DocAnswer a) {
                   on_answer(uri, query, std::move(a));
                   resume(uri, query);
                 });
}

void CacheInterceptor::server_holds(Doc& d) {
  // The server has been given the document's current version: the worker
  // bookkeeping follows it, and the proxy's own waitForDiagnostics learns
  // when the server has finished it.
  Version& v = d.v;
  v.sent = true;
  v.started = std::chrono::steady_clock::now();
  d.server_open = true;
  d.server_version = v.number;
  d.restart_skipped = false;
  if (v.worker_start) {
    d.header = v.header;
    d.worker_version = v.number;
    d.worker_deps_known = false;
    d.stale = false;
    if (v.answer) note_worker_deps(d, *v.answer);
  }
  std::string uri = d.uri;
  std::int64_t version = v.number;
  std::string params = "{\"uri\":" + json::quote(uri) + ",\"version\":" + std::to_string(version) + "}";
  port_->request_server("textDocument/waitForDiagnostics", params, [this, uri, version](const Message& reply) {
    on_finished(uri, version, !reply.is_error());
  });
}

void CacheInterceptor::note_worker_deps(Doc& d, const DocAnswer& a) {
  // The worker's view: the fingerprint when its worker started is the one its
  // results belong to, even if that version was superseded meanwhile.
  if (!a.cacheable || d.worker_deps_known || a.version != d.worker_version) return;
  d.worker_deps = a.deps;
  d.worker_modules = a.modules;
  d.worker_deps_known = true;
}

void CacheInterceptor::on_answer(const std::string& uri, std::uint64_t query, DocAnswer a) {
  auto it = docs_.find(uri);
  if (it == docs_.end()) return;
  Doc& d = it->second;
  note_worker_deps(d, a);
  if (a.version != d.v.number || query != d.v.query) return;  // superseded while we looked
  Version& v = d.v;
  if (a.cacheable) stats_.record_lookup(a.lookup_us);
  if (a.cacheable && d.worker_deps_known && a.deps != d.worker_deps && !d.stale) {
    d.stale = true;
    log::info("cache: imports of " + uri + " changed on disk since its worker started; not serving or storing it "
              "until the file is restarted");
  }
  // A version not yet sent that restarts the worker would get a fresh one.
  bool stale = d.stale && !(v.worker_start && !v.sent);
  bool hit = options_.enabled && a.cacheable && a.diagnostics && !v.bypass && !stale;
  if (!a.cacheable) ++stats_.uncacheable[reason_category(a.reason)];
  v.answer = std::move(a);
  if (hit) {
    v.lookup = Lookup::hit;
    v.served = *v.answer->diagnostics;
    v.held.clear();
    ++stats_.hits;
    stats_.elab_ms_saved += v.answer->elab_ms;
    std::string vd = "{\"uri\":" + json::quote(uri) + ",\"version\":" + std::to_string(v.number) + "}";
    port_->to_client(protocol::make_notification("$/lean/fileProgress",
                                                 "{\"textDocument\":" + vd + ",\"processing\":[]}"));
    port_->to_client(publish(uri, v.number, v.served));
    port_->flush_client();  // before the didOpen's forward to the server and the rest of this read
    log::debug("cache hit: " + uri + " v" + std::to_string(v.number) + " key " + v.answer->key.digest.substr(0, 12));
    if (v.hold) keep_from_server(d);
  } else {
    v.lookup = Lookup::miss;
    if (options_.enabled && v.answer->cacheable) ++stats_.misses;
    if (v.hold) send_held(d);
    flush_held(v);
    release_waits(v);
  }
  if (v.finish_ok) on_finished(uri, v.number, *v.finish_ok);
}

void CacheInterceptor::flush_held(Version& v) {
  for (auto& body : v.held) port_->to_client(std::move(body));
  v.held.clear();
}

bool CacheInterceptor::server_notification(const Message& m) {
  const std::string& method = m.method();
  bool publish = method == "textDocument/publishDiagnostics";
  if (!publish && method != "$/lean/fileProgress") return false;
  auto uri = publish ? str(m.params(), {"uri"}) : str(m.params(), {"textDocument", "uri"});
  if (!uri) return false;
  auto version = publish ? integer(m.params(), {"version"}) : integer(m.params(), {"textDocument", "version"});
  if (publish && !version) {
    auto c = close_clears_.find(*uri);
    if (c != close_clears_.end()) {  // the clear after a client's didClose
      if (--c->second == 0) close_clears_.erase(c);
      auto open = docs_.find(*uri);
      return open != docs_.end() && open->second.v.lookup == Lookup::hit;  // reopened and served meanwhile
    }
  }
  auto it = docs_.find(*uri);
  if (it == docs_.end()) return false;
  Version& v = it->second.v;
  if (publish) {
    // Lean clears a closed document's diagnostics; after the proxy's own
    // didClose (a worker restart) the client still has the document open.
    int& closes = it->second.own_closes;
    if (!version && closes > 0) {
      --closes;
      return true;
    }
    if (version) closes = 0;
  }
  if (!version || *version != v.number) {
    // Lean may deliver an older version's set late; after a hit the editor
    // already shows the final set, so it must not be overwritten.
    return version && *version < v.number && v.lookup == Lookup::hit;
  }
  if (publish) {
    note_publish(v, m.params());
    // Lean republishes at once when it learns an import changed; the note
    // then stays on every version until the file is restarted.
    if (v.stale_note) it->second.stale = true;
  } else if (auto processing = json::member(m.params(), "processing")) {
    json::ArrayReader r(*processing);
    std::string_view item;
    while (r.next(item))
      if (integer(item, {"kind"}) == 2) v.fatal = true;
  }
  switch (v.lookup) {
    case Lookup::hit:
      // The editor already has the final set, unless the server has news for
      // it: its worker learnt that an import changed (Lean republishes at
      // once with the note), or it publishes after having finished. From
      // then on the server's publishes for this version are the truth.
      if (publish && (v.stale_note || v.finished)) v.forwarding = true;
      return !v.forwarding;
    case Lookup::pending: v.held.push_back(m.raw()); return true;
    case Lookup::miss: return false;
  }
  return false;
}

void CacheInterceptor::note_publish(Version& v, std::string_view params) {
  auto diags = json::member(params, "diagnostics");
  if (!diags) return;
  bool incremental = json::path(params, {"isIncremental"}) == std::optional<std::string_view>("true");
  DiagnosticKinds kinds{v.stale_note, v.build_output};
  classify_diagnostics(*diags, kinds);
  v.stale_note = kinds.stale_note;
  v.build_output = kinds.build_output;
  if (incremental) {
    json::ArrayReader r(*diags);
    std::string_view d;
    while (r.next(d)) v.increments.emplace_back(d);
  }
  if (!incremental) {
    v.final_set = std::string(*diags);
    v.increments.clear();
  }
}

std::string CacheInterceptor::final_diagnostics(const Version& v) const {
  std::string base = v.final_set.value_or("[]");
  if (v.increments.empty()) return base;
  // Append the incremental diagnostics to the last full set.
  std::size_t close = base.rfind(']');
  std::string out = base.substr(0, close);
  bool empty = json::skip_ws(out, 1) == out.size();
  for (const auto& d : v.increments) {
    if (!empty) out += ",";
    out += d;
    empty = false;
  }
  return out + "]";
}

void CacheInterceptor::on_finished(const std::string& uri, std::int64_t version, bool ok) {
  auto it = docs_.find(uri);
  if (it == docs_.end() || it->second.v.number != version || it->second.v.finished) return;
  Doc& d = it->second;
  Version& v = d.v;
  if (v.lookup == Lookup::pending) {
    v.finish_ok = ok;  // finish once the lookup is back
    return;
  }
  v.finished = true;
  double elab_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - v.started).count();
  std::string final = final_diagnostics(v);
  if (v.stale_note) d.stale = true;  // Lean keeps that note until the file is restarted

  std::string why_not;
  if (!ok) why_not = "cancelled";
  else if (!v.answer || !v.answer->cacheable) why_not = "not cacheable";
  else if (v.fatal) why_not = "fatal error";
  else if (v.stale_note) why_not = "stale imports";
  else if (v.build_output) why_not = "build output";
  else if (d.stale) why_not = "worker imports stale";
  else if (!options_.enabled) why_not = "disabled";
  else if (options_.read_only || backend_.mode() != StoreMode::read_write) why_not = "store not writable";

  if (v.lookup == Lookup::hit) {
    if (ok && same_diagnostics(final, v.served)) {
      ++stats_.verified_hits;
    } else if (ok && (v.forwarding || v.stale_note)) {
      // Not a key error: the worker's imports changed under it, and the
      // editor has been given the server's own publishes since.
      log::info("cache: " + uri + " v" + std::to_string(version) + " was served, then its imports changed on disk");
      if (!v.forwarding) port_->to_client(publish(uri, version, final));
    } else if (ok) {
      ++stats_.mismatches;
      log::error("cache MISMATCH for " + uri + " v" + std::to_string(version) + " (key " + v.answer->key.digest +
                 "): the server's result differs from the cached one; a dependency is missing from the key");
      port_->to_client(publish(uri, version, final));
      v.served = final;
      if (why_not.empty()) store_final(d, final, elab_ms, [](StoreOutcome) {});
    }
    release_waits(v);
    return;
  }
  if (!why_not.empty()) {
    if (v.answer && v.answer->cacheable) skip(why_not);
    return;
  }
  store_final(d, final, elab_ms, [this, uri, version](StoreOutcome o) {
    if (o != StoreOutcome::stored) {
      skip(outcome_name(o));
      return;
    }
    ++stats_.stores;
    auto it = docs_.find(uri);
    if (it != docs_.end() && it->second.v.number == version) it->second.v.stored = true;
  });
}

void CacheInterceptor::store_final(const Doc& d, const std::string& final, double elab_ms,
                                   std::function<void(StoreOutcome)> done) {
  // The backend stores only if the key it computes now equals the one the
  // version was looked up under, and the worker's view still matches.
  const document::Document* doc = port_->documents().find(d.uri);
  backend_.store({{d.uri, d.v.number, doc->text, doc->dependency_build_mode.value_or("always"), false},
                  d.v.answer->key.digest, d.worker_deps, final, elab_ms},
                 std::move(done));
}

void CacheInterceptor::release_waits(Version& v) {
  for (auto& body : v.held_waits) port_->to_client(std::move(body));
  v.held_waits.clear();
}

bool CacheInterceptor::client_request(const Message& m) {
  if (m.method() == "textDocument/waitForDiagnostics") return client_wait(m);
  if (answer_from_cache(m)) return true;
  // Lazy: whatever the server is asked about a document needs its current text there.
  if (auto uri = request_uri(m.params()); uri && lazy()) bring_up_to_date(*uri);
  return false;
}

bool CacheInterceptor::client_wait(const Message& m) {
  // Lazy answers it for a version served without the server (Lean answers an
  // older version too once a newer one is done); otherwise it goes to the
  // server, and its reply may be held until the version is verified.
  auto uri = str(m.params(), {"uri"});
  auto version = integer(m.params(), {"version"});
  if (!uri || !version) return false;
  auto it = docs_.find(*uri);
  if (lazy() && it != docs_.end()) {
    Version& v = it->second.v;
    if (v.hold && *version <= v.number) {
      v.waiting.push_back(m);  // answered when the lookup is back
      return true;
    }
    if (v.lazy && *version <= v.number) {
      port_->to_client(protocol::make_result(m.id()->raw(), "{}"));
      return true;
    }
    bring_up_to_date(*uri);
  }
  client_waits_[m.id()->key()] = {*uri, *version};
  return false;
}

bool CacheInterceptor::answer_from_cache(const Message& m) {
  // Goal and hover answers under (document key, position); a miss is
  // forwarded and its reply stored.
  const std::string& method = m.method();
  if (method != "$/lean/plainGoal" && method != "$/lean/plainTermGoal" && method != "textDocument/hover") return false;
  if (!options_.enabled) return false;
  auto uri = str(m.params(), {"textDocument", "uri"});
  auto line = integer(m.params(), {"position", "line"});
  auto ch = integer(m.params(), {"position", "character"});
  if (!uri || !line || !ch) return false;
  auto it = docs_.find(*uri);
  if (it == docs_.end() || it->second.stale) return false;
  Version& v = it->second.v;
  if (v.lookup == Lookup::pending || !v.answer || !v.answer->cacheable) return false;
  AnswerRequest req{*uri, v.number, v.answer->key.digest, method, std::to_string(*line) + ":" + std::to_string(*ch)};
  backend_.get_answer(req.key, req.method, req.position,
                      [this, m, req](std::optional<std::string> result) mutable {
                        if (result) {
                          ++stats_.answer_hits;
                          port_->to_client(protocol::make_result(m.id()->raw(), *result));
                          return;
                        }
                        ++stats_.answer_misses;
                        bring_up_to_date(req.uri);
                        answer_requests_[m.id()->key()] = std::move(req);
                        port_->forward_request(std::move(m));
                      });
  return true;
}

bool CacheInterceptor::server_reply(const Message& m, const std::string& method) {
  if (!m.id()) return false;
  if (method == "textDocument/waitForDiagnostics") {
    auto w = client_waits_.find(m.id()->key());
    if (w == client_waits_.end()) return false;
    auto [uri, version] = std::move(w->second);
    client_waits_.erase(w);
    auto it = docs_.find(uri);
    if (it == docs_.end()) return false;
    Version& v = it->second.v;
    // While the lookup runs, the server's messages for this version are held,
    // so its wait reply must queue behind them; a served version's wait is
    // answered after its verification (and any correction).
    if (v.number == version && (v.lookup == Lookup::pending || (v.lookup == Lookup::hit && !v.finished))) {
      v.held_waits.push_back(m.raw());
      return true;
    }
    return false;
  }
  auto a = answer_requests_.find(m.id()->key());
  if (a == answer_requests_.end()) return false;
  AnswerRequest req = std::move(a->second);
  answer_requests_.erase(a);
  auto it = docs_.find(req.uri);
  if (m.is_error() || it == docs_.end() || it->second.stale || it->second.v.number != req.version || options_.read_only)
    return false;
  backend_.put_answer(req.key, req.method, req.position, std::string(m.result()));
  ++stats_.answer_stores;
  return false;
}

}  // namespace leanproxy::cache
