// Cache interception for one session: answers a document version from the
// cache when its key matches, verifies every hit against the server's own
// result, and stores the final diagnostic set of cleanly finished versions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/stats.hpp"
#include "leanproxy/proxy/interceptor.hpp"

namespace leanproxy::cache {

struct InterceptOptions {
  bool enabled = true;     ///< runtime toggle; off = pass everything through
  bool read_only = false;  ///< serve, never store (--cache readonly, per session)
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
///    after any correction has been sent.
class CacheInterceptor final : public proxy::Interceptor {
 public:
  CacheInterceptor(Backend& backend, ServerSpec spec, InterceptOptions options);

  void client_initialize(std::string_view params) override;
  bool client_request(const protocol::Message& m) override;
  void before_document_notification(const protocol::Message& m) override;
  void document_notification(const protocol::Message& m) override;
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

 private:
  enum class Lookup { pending, hit, miss };
  struct Version {
    std::int64_t number = -1;
    Lookup lookup = Lookup::pending;
    bool bypass = false;        ///< Restart File: never served
    bool worker_start = false;  ///< this version (re)started the document's worker
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
    std::vector<std::string> worker_modules;  ///< its import closure
    bool worker_deps_known = false;
    bool stale = false;  ///< neither serve nor store until the document is restarted
    Version v;
  };
  struct AnswerRequest {
    std::string uri;
    std::int64_t version;
    std::string key, method, position;
  };

  void begin_version(Doc& d, bool worker_start, bool bypass);
  void on_answer(const std::string& uri, DocAnswer a);
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
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> client_waits_;  ///< id key → (uri, version)
  std::unordered_map<std::string, AnswerRequest> answer_requests_;                     ///< id key → what to store
  bool incremental_ = false;
  bool pause_next_ = false;  ///< the server's input is held for the next query
  CacheStats stats_;
};

/// Diagnostics arrays compared as JSON values (key order and spacing ignored).
bool same_diagnostics(std::string_view a, std::string_view b);

}  // namespace leanproxy::cache
