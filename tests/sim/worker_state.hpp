// State of one simulated file worker, shared by its reader (main) thread and
// its elaboration thread (see worker.cpp).
#pragma once

#include "channel.hpp"
#include "lang.hpp"
#include "workspace.hpp"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace leansim {

/// One document version's diagnostics, as Lean's per-version
/// `DiagnosticsState` (FileWorker/Utils.lean): what its reporter has
/// accumulated and how much of it was published already.
struct VersionDiags {
  std::int64_t version = 0;
  std::string text;
  std::vector<Diag> diags;     ///< header diagnostics, then each command's
  bool incremental = false;    ///< the next publish may send only the new ones
  std::size_t published = 0;   ///< how many of `diags` the last publish covered
};

struct WorkerState {
  explicit WorkerState(std::string u) : uri(std::move(u)), out(0, 1) {}

  const std::string uri;
  Channel out;
  bool silent_support = false;
  bool incremental_support = false;  ///< capabilities.lean.incrementalDiagnosticSupport (Lean 4.31+)
  Options opts;
  Header header;
  Env base_env;                   ///< imports, loaded once per process
  std::vector<Diag> header_diags;  ///< header errors: no command is elaborated then
  bool header_failed = false;

  std::mutex mu;  // guards everything below
  std::condition_variable cv;
  std::string text;
  std::int64_t version = 0;       ///< latest version received
  std::int64_t queued = -1;       ///< version waiting for the elaboration thread (-1: none)
  std::int64_t done_version = -1;  ///< last version whose reporting finished
  bool cancel = false;            ///< the running elaboration is superseded
  std::shared_ptr<VersionDiags> doc;  ///< the latest version's diagnostics (replaced on didChange)
  std::vector<Diag> sticky;       ///< kept across versions until restart: the stale-imports note
  struct Waiter {
    json id;
    std::int64_t version;
  };
  std::vector<Waiter> waiters;
  std::set<std::string> pending_delayed;  ///< ids (dumped) of replies held back by the slow switch
  std::mt19937_64 rng;
  bool reorder = false;

  /// Replies to the waitForDiagnostics waiters that are now satisfied
  /// (caller holds mu). Called right after a version's last publish, so each
  /// reply follows that publish on the wire.
  void answer_waiters();
  /// Lean's `EditableDocumentCore.publishDiagnostics` (caller holds mu): with
  /// incremental support and after the version's first publish, only the
  /// diagnostics added since the last publish, `isIncremental: true`;
  /// otherwise sticky ++ all of the version's, `isIncremental: false` (the
  /// field only present when the client advertised support).
  void publish_doc(VersionDiags& d);
  /// A publish outside the per-version state (build output during setup, a
  /// superseded version's late set): always a full set.
  void publish_raw(std::int64_t v, const std::string& txt, const std::vector<Diag>& diags);
  void progress(std::int64_t v, const std::string& txt, std::size_t from, bool done);
};

// worker_setup.cpp
/// A note at fixed LSP positions: `range` 0:0 to end_line:end_char, and
/// `fullRange` to the end of `text` when given ("make progress visible
/// anywhere in the file", as Lean's setupImports does), else the same.
Diag fixed_note(const std::string& message, int severity, int end_line, int end_char, const std::string* text = nullptr);
/// Lake's part of worker setup (`lake setup-file`): checks or rebuilds the
/// imports of st.header. Returns false (with a header error) when the file
/// cannot start.
bool setup_imports(WorkerState& st, const std::string& build_mode, std::int64_t v, const std::string& text);
/// The "exhaust memory" fault: allocates until an RLIMIT_AS cap, then dies by
/// SIGKILL as an OOM-killed process does.
[[noreturn]] void exhaust_memory();

}  // namespace leansim
