// Cache interception for one session: answers a document version from the
// cache when its key matches, verifies hits against the server's own result
// (every hit in forward mode; in lazy mode those the server is asked about),
// and stores the final diagnostic set of cleanly finished versions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/stats.hpp"
#include "leanproxy/proxy/interceptor.hpp"

namespace leanproxy::cache {

/// What the server is told about a version served from the cache (--on-hit).
enum class OnHit {
  forward,  ///< every version: hover and goals keep working, every hit is verified
  lazy,     ///< only once a request needs the document (agents: no elaboration at all)
};

struct InterceptOptions {
  bool enabled = true;     ///< runtime toggle; off = pass everything through
  bool read_only = false;  ///< serve, never store (--cache readonly, per session)
  OnHit on_hit = OnHit::forward;
};

/// Rules (DESIGN.md "Cache semantics"):
///  - a version is looked up when it is opened or changed; on a hit the
///    client gets `processing: []` and the cached set at once, and the
///    server's own publishes / progress for that version are held back;
///  - "finished" is the reply to the proxy's own waitForDiagnostics for that
///    version (current Lean publishes its last set after `processing: []`);
///    then a hit is verified (equal: verified; different: the server's set is
///    sent, the entry replaced, a mismatch counted) and a miss is stored;
///  - never stored: superseded versions, fatal errors, stale-import notes,
///    Lake build output, Restart File opens are not served, and nothing is
///    served or stored for a document whose worker holds older imports than
///    the disk (until the document is restarted);
///  - a client's waitForDiagnostics for a served version is answered only
///    after any correction has been sent;
///  - lazy policy: a didOpen / didChange is held in its place in the server's
///    input (a router hold) until its lookup is back; on a hit it is dropped
///    and the server's copy falls behind (a didClose of a document it never
///    saw is dropped too). A request for the document that the cache does not
///    answer first brings the server up to date (didOpen, or a full-text
///    didChange, since the client's edit applies to a text the server lacks;
///    didClose + didOpen when a skipped version changed the header, since
///    Lean restarts the worker on every header change); the hit is then
///    verified as in forward mode. A client's
///    waitForDiagnostics for a version served lazily (or an older one) is
///    answered {} at once. The worker bookkeeping (header, imports, staleness)
///    follows what the server holds, not what the editor holds, so nothing is
///    stored under a key the server's worker did not check.
class CacheInterceptor final : public proxy::Interceptor {
 public:
  CacheInterceptor(Backend& backend, ServerSpec spec, InterceptOptions options);

  void client_initialize(std::string_view params) override;
  bool client_request(const protocol::Message& m) override;
  bool before_document_notification(const protocol::Message& m, const std::string& uri) override;
  void document_notification(const std::string& method, const std::string& uri) override;
  void client_notification(const protocol::Message& m) override;
  bool server_notification(const protocol::Message& m) override;
  bool server_reply(const protocol::Message& m, const std::string& method) override;
  void server_started(std::uint64_t generation) override;
  void server_exited() override;

  const CacheStats& stats() const { return stats_; }
  /// Why the last lookup for `uri` hit or missed: a JSON object with the
  /// key's components (see leanProxy.cache.explain).
  std::string explain(const std::string& uri) const;
  /// Adds the last stored entry's components (`last`, JSON or "null") and a
  /// verdict naming the components that differ.
  static std::string explain_with_last(const std::string& now, const std::string& last);
  bool enabled() const { return options_.enabled; }
  void set_enabled(bool on) { options_.enabled = on; }
  bool lazy() const { return options_.on_hit == OnHit::lazy; }

 private:
  enum class Lookup { pending, hit, miss };
  struct Version {
    std::int64_t number = -1;
    std::uint64_t query = 0;    ///< which lookup answers it (a replay repeats version numbers)
    Lookup lookup = Lookup::pending;
    bool bypass = false;        ///< Restart File: never served
    bool worker_start = false;  ///< this version (re)starts the document's worker once the server has it
    std::string header;         ///< its header's syntax
    bool sent = false;          ///< the server has it (always, in forward mode)
    std::uint64_t hold = 0;     ///< lazy: its notification, held in the server's input until the lookup is back
    std::string held_message;   ///< lazy: that notification as sendable then; empty = send the full text
    bool lazy = false;          ///< lazy: served without the server; the client's waits are answered at once
    std::vector<protocol::Message> waiting;  ///< lazy: client waitForDiagnostics held with the notification
    std::optional<DocAnswer> answer;
    std::string served;                 ///< the set served on a hit
    std::vector<std::string> held;      ///< server notifications held while the lookup is pending
    std::optional<std::string> final_set;   ///< last full publish (a JSON array)
    std::vector<std::string> increments;    ///< isIncremental additions after it
    bool fatal = false, build_output = false, stale_note = false;
    std::chrono::steady_clock::time_point started;
    bool finished = false;
    bool forwarding = false;  ///< after a hit, the server's own publishes go to the editor again
    bool stored = false;      ///< its result was stored after the lookup missed
    std::optional<bool> finish_ok;      ///< set when the own wait replied before the lookup
    std::vector<std::string> held_waits;  ///< client waitForDiagnostics replies held until verified
  };
  struct Doc {
    std::string uri;
    std::string header;  ///< the header's syntax (lean::Header::signature): a change restarts the worker
    std::int64_t worker_version = -1;  ///< the version that started the current worker
    std::string worker_deps;
    std::shared_ptr<const std::vector<std::string>> worker_modules;  ///< its import closure
    bool worker_deps_known = false;
    bool stale = false;  ///< neither serve nor store until the document is restarted
    bool server_open = false;          ///< the server has the document open (lazy: maybe not)
    std::int64_t server_version = -1;  ///< the version the server holds (lazy: maybe behind)
    bool restart_skipped = false;      ///< lazy: a version the server never got changed the header
    int own_closes = 0;                ///< didCloses the proxy sent to restart the worker, whose empty publish is not the client's
    Version v;
  };
  struct AnswerRequest {
    std::string uri;
    std::int64_t version;
    std::string key, method, position;
  };

  void begin_version(Doc& d, bool worker_start, bool bypass, std::string header);
  void server_holds(Doc& d);
  bool take_document_notification(const protocol::Message& m, const std::string& uri);
  void drop_hold(Doc& d);
  void send_held(Doc& d);
  void keep_from_server(Doc& d);
  void bring_up_to_date(const std::string& uri);
  std::vector<std::pair<std::string, std::string>> sync_notifications(Doc& d);
  bool client_wait(const protocol::Message& m);
  bool answer_from_cache(const protocol::Message& m);
  void fail_waiting(Version& v, int code, const std::string& why);
  void note_worker_deps(Doc& d, const DocAnswer& a);
  void on_answer(const std::string& uri, std::uint64_t query, DocAnswer a);
  void on_finished(const std::string& uri, std::int64_t version, bool ok);
  void store_final(const Doc& d, const std::string& final, double elab_ms, std::function<void(StoreOutcome)> done);
  void release_waits(Version& v);
  void flush_held(Version& v);
  std::string final_diagnostics(const Version& v) const;
  void note_publish(Version& v, std::string_view params);
  void mark_dependents_stale(const std::vector<std::string>& modules);
  void skip(const std::string& reason) { ++stats_.skipped[reason]; }

  Backend& backend_;
  ServerSpec spec_;
  InterceptOptions options_;
  std::unordered_map<std::string, Doc> docs_;
  /// Client didCloses the server got, by uri, whose empty versionless publish
  /// (Lean clears a closed document) has not come back yet. It may come after
  /// the document was reopened and served from the cache: then it is dropped,
  /// or it would wipe the served set for good.
  std::unordered_map<std::string, int> close_clears_;
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> client_waits_;  ///< id key → (uri, version)
  std::unordered_map<std::string, AnswerRequest> answer_requests_;                     ///< id key → what to store
  bool incremental_ = false;
  bool pause_next_ = false;  ///< the server's input is held for the next query
  std::uint64_t hold_next_ = 0;      ///< lazy: the hold taken for the notification being applied
  std::string hold_next_message_;    ///< and that notification, when it may be sent as the client sent it
  std::uint64_t next_query_ = 0;
  bool server_lost_ = false;  ///< between a server exit and the replay to its successor
  CacheStats stats_;
};

/// Diagnostics arrays compared as JSON values (key order and spacing ignored).
bool same_diagnostics(std::string_view a, std::string_view b);

}  // namespace leanproxy::cache
