// Change detection for the files a lookup read: inotify watches on their
// directories and on every ancestor, and a generation that moves on every
// relevant change, so a result computed from those files is known current
// without a single `stat`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace leanproxy::cache {

/// Invariant: when `covered(dir)` returned true for every directory a
/// result's files were looked up in, right after it was computed, and
/// `generation()` is the same as just before it was computed (watches are
/// only added by `watch`, never while a result is computed, so they were in
/// place all along), then no entry of those directories
/// changed since, and no directory on their paths was created, removed,
/// renamed or replaced (a symlink retargeted): the kernel queues an event
/// before the write that caused it returns, and `generation()` reads the
/// queue first. Anything doubtful counts as a change (an overflowed queue, a
/// watch gone) or is not covered (a network or FUSE filesystem, whose other
/// clients' writes raise no event here; the watch limit; no inotify).
/// Thread-safe: the cache workers watch, the I/O thread checks.
class ChangeWatch {
 public:
  /// `max_watches`: most directories watched at once (the rest of the
  /// user's inotify budget belongs to the editor). When full, every watch is
  /// dropped and watching starts afresh, at most once a minute; otherwise a
  /// directory that would need one more is not covered.
  explicit ChangeWatch(std::size_t max_watches = 8192);
  /// The process's instance, shared by every cache backend: one inotify
  /// instance (a user has 128) however many sessions a daemon runs.
  static std::shared_ptr<ChangeWatch> shared();
  ~ChangeWatch();
  ChangeWatch(const ChangeWatch&) = delete;
  ChangeWatch& operator=(const ChangeWatch&) = delete;

  /// The number of relevant changes seen so far, after reading every queued event.
  std::uint64_t generation();
  /// True when a change to any entry of `dir` (absolute), or to any
  /// directory on its path, moves the generation on: its watches are in
  /// place. While `dir` does not exist, its deepest existing ancestor must
  /// be watched for the entry that would create it.
  bool covered(const std::string& dir);
  /// Adds the watches `covered(dir)` lacks (slow for a directory with many
  /// entries: the kernel marks each; not on the way of an answer). Does
  /// nothing when `dir` cannot be watched reliably.
  void watch(const std::string& dir);
  bool usable() const;
  std::size_t watches() const;

 private:
  enum class Ensure { present, lacking, missing, failed };  ///< lacking: not watched before (maybe added now)
  struct Dir {
    std::vector<std::string> paths;  ///< one inode may be reached by several paths (symlinks)
    bool leaf = false;               ///< every entry matters
    std::unordered_set<std::string> children;  ///< else only these entries (the next path components)
  };
  /// Whether `path` is watched for `child` (empty: for every entry); `add`
  /// adds the watch where it lacks.
  Ensure ensure(const std::string& path, const std::string& child, bool add);
  bool walk(const std::string& dir, bool add);
  void drain_locked();
  void drop_locked(int wd);
  void restart_locked();

  int fd_ = -1;
  std::size_t max_watches_;
  std::chrono::steady_clock::time_point last_restart_{};
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::unordered_map<int, Dir> dirs_;         ///< watch descriptor → what it covers
  std::unordered_map<std::string, int> wd_of_;
  std::unordered_set<std::string> remote_;    ///< on a filesystem whose events cannot be trusted
  /// Directories found covered, valid for one generation (a directory that
  /// was missing may exist now; its creation moved the generation on).
  std::unordered_set<std::string> covered_;
  std::uint64_t covered_generation_ = 0;
  bool told_ = false;  ///< a watch failure was logged once
};

}  // namespace leanproxy::cache
