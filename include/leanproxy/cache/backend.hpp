// The cache's slow side, on a worker thread of its own: server identity
// (`lean --version`, `lake env`), dependency fingerprints, key derivation and
// every RocksDB call. The I/O thread posts queries and gets answers back
// through `post`, so it never blocks on disk. Tasks run in FIFO order: an
// identity refresh is always complete before the lookups posted after it.
// A repeat is answered on the I/O thread itself (`answer_now`) when nothing
// it depends on can have changed: no disk, no hand-off.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "leanproxy/cache/change_watch.hpp"
#include "leanproxy/cache/deps.hpp"
#include "leanproxy/cache/key.hpp"
#include "leanproxy/cache/store.hpp"

namespace leanproxy::cache {

/// What identifies the server the documents are checked by.
struct ServerSpec {
  std::vector<std::string> argv;  ///< as the proxy runs it
  std::string cwd;                ///< the workspace root (Lean uses its working directory)
  std::string client_flags;       ///< from the client's initialize
};

struct DocQuery {
  std::string uri;
  std::int64_t version = 0;
  std::string text;
  std::string build_mode;  ///< "always" when absent
  bool lookup = true;      ///< false: compute the key only (e.g. Restart File)
};

/// A DocQuery's fields as views, for a lookup on the caller's thread (no
/// copy of the text).
struct DocView {
  std::string_view uri;
  std::int64_t version = 0;
  std::string_view text;
  std::string_view build_mode;
  bool lookup = true;
};

struct DocAnswer {
  std::string uri;
  std::int64_t version = 0;
  bool cacheable = false;
  std::string reason;  ///< why not cacheable
  Key key;
  /// What the document's worker depends on besides its text, now: the
  /// import closure's fingerprint and the Lake configuration (Lake hands a
  /// worker its options when it starts). Compared with the value recorded
  /// at worker start to tell a stale worker.
  std::string deps;
  std::shared_ptr<const std::vector<std::string>> modules;  ///< the import closure (for watched-file changes)
  std::optional<std::string> diagnostics;  ///< on a hit: the stored set (a JSON array)
  double elab_ms = 0;                      ///< on a hit: what it cost to compute
  double lookup_us = 0;                    ///< key + lookup time
};

struct StoreQuery {
  DocQuery doc;
  std::string expected_key;  ///< the key computed when the version was opened
  std::string worker_deps;   ///< fingerprint when the document's worker started
  std::string diagnostics;   ///< final set, a JSON array
  double elab_ms = 0;
};

enum class StoreOutcome { stored, key_changed, worker_stale, not_cacheable, write_failed };
const char* outcome_name(StoreOutcome o);

class Backend {
 public:
  using Post = std::function<void(std::function<void()>)>;
  Backend(std::shared_ptr<Store> store, Post post);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// Re-reads the server identity and search path (at every server start).
  void refresh_identity(ServerSpec spec);
  void query(DocQuery q, std::function<void(DocAnswer)> done);
  /// The answer `query` would give, on the calling (I/O) thread without
  /// touching the disk, when it is known already: the worker is idle, the
  /// uri's last lookup had the same text and build mode, every directory its
  /// closure was looked up in was watched before and has not changed since
  /// (ChangeWatch), and a lookup's record is in the store's memory tier.
  /// nullopt: ask `query`.
  std::optional<DocAnswer> answer_now(const DocView& q);
  /// A hit `answer_now` found: its record's LRU touch is left to the worker,
  /// once idle. Call once the answer is out (it wakes the worker).
  void served(const std::string& key);
  void store(StoreQuery q, std::function<void(StoreOutcome)> done);
  /// Goal / hover answers under (document key, method, position).
  void get_answer(std::string doc_key, std::string method, std::string position,
                  std::function<void(std::optional<std::string>)> done);
  void put_answer(std::string doc_key, std::string method, std::string position, std::string result);
  /// Module names of changed files (sources through LEAN_SRC_PATH, `.ilean`
  /// / `.olean` through LEAN_PATH), as the watchdog maps them.
  void modules_of(std::vector<std::string> paths, std::function<void(std::vector<std::string>)> done);
  /// Runs `work(store)` on the worker and hands its result to `done` on the loop.
  void with_store_reply(std::function<std::string(Store&)> work, std::function<void(std::string)> done);

  StoreMode mode() const { return store_->mode(); }  ///< live: a failed write makes it read-only
  /// True when a query posted now would run at once (identity known, no
  /// backlog): only then is it worth holding the server's input for it.
  bool ready() const { return identity_ready_ && queued_ == 0; }

 private:
  void run();
  void submit(std::function<void()> task);
  void submit_write(std::function<void()> task);  ///< runs after the deferred touches
  void flush_touches();
  DocAnswer compute(const DocQuery& q);

  std::shared_ptr<Store> store_;  ///< shared by every session of a daemon (RocksDB is thread-safe)
  Post post_;
  // Worker-thread state.
  ServerIdentity identity_;
  std::unique_ptr<DepFingerprinter> deps_;
  std::string identity_problem_;  ///< non-empty: nothing is cacheable (e.g. `lake env` failed)
  /// The import closure's fingerprint and what comes with it, for the
  /// imports of a header. Memoised while ChangeWatch vouches for every
  /// directory it was looked up in (the search path's misses included).
  struct Closure {
    DepFingerprint fp;
    std::shared_ptr<const std::vector<std::string>> modules;
    std::string lake_config;     ///< lakefile(s) and manifest, as the key has them
    std::string deps;            ///< DocAnswer::deps
    std::uint64_t generation = 0;  ///< ChangeWatch's, before it was computed
    bool trusted = false;          ///< every directory was watched before then
  };
  const Closure& closure_for(const std::vector<std::string>& imports);
  std::unordered_map<std::string, Closure> closures_;  ///< by the imports, NUL-joined (worker only)
  std::vector<std::string> unwatched_;  ///< directories a closure was looked up in, to watch after the task
  std::vector<std::string> touches_;  ///< keys served, touched once the worker is idle (or before a write)

  // Shared with the I/O thread (answer_now).
  /// The last text looked up per document, its SHA-256 and the answer
  /// computed for it (without diagnostics): a document reopened or re-sent
  /// unchanged (an agent's repeated proof) costs a comparison, not a hash,
  /// and `answer_now` can answer it. Exact (the texts are compared), bounded
  /// in bytes; shared with the I/O thread under `memo_mutex_`.
  struct Recent {
    std::string text, sha256, build_mode;
    std::optional<DocAnswer> answer;  ///< null: not computed with a closure (no identity)
    std::uint64_t generation = 0;
    bool trusted = false;
  };
  std::shared_ptr<ChangeWatch> watch_ = ChangeWatch::shared();  ///< both threads (it locks)
  std::mutex memo_mutex_;
  std::unordered_map<std::string, Recent> recent_;
  std::size_t recent_bytes_ = 0;
  std::string known_sha256(const std::string& uri, const std::string& text);
  void remember(const DocQuery& q, const std::string& sha256, const DocAnswer& a, const Closure& c);

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::string> served_;  ///< keys served by answer_now, for the worker to touch
  bool stopping_ = false;
  std::atomic<bool> identity_ready_{false};
  std::atomic<int> queued_{0};  ///< tasks submitted and not finished
  std::thread worker_;
};

/// Reads the server identity for `spec` (runs `lean --version`, `lake env`,
/// `lean --print-prefix`; blocking). `problem` says why caching is impossible.
ServerIdentity read_server_identity(const ServerSpec& spec, SearchPath& path, std::string& problem);

}  // namespace leanproxy::cache
