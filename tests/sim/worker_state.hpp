// State of one simulated file worker, shared by its reader (main) thread and
// its elaboration thread (see worker.cpp).
#pragma once

#include "channel.hpp"
#include "lang.hpp"
#include "workspace.hpp"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace leansim {

struct WorkerState {
  explicit WorkerState(std::string u) : uri(std::move(u)), out(0, 1) {}

  const std::string uri;
  Channel out;
  bool silent_support = false;
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
  bool stale_dependency = false;  ///< sticky "should be rebuilt" note
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
  void publish(std::int64_t v, const std::string& txt, const std::vector<Diag>& diags);
  void progress(std::int64_t v, const std::string& txt, std::size_t from, bool done);
};

}  // namespace leansim
