// Fakes for tests of the cache backend: an in-memory store and a loop that
// runs what the backend posts, on the test's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/store.hpp"

namespace leanproxy::testing {

/// Whether inotify can vouch for `dir` here, judged without ChangeWatch (a
/// broken ChangeWatch must fail the tests, not skip them): inotify works
/// and `dir` is on one of the common local filesystems. Answers on the
/// caller's thread rest on it; elsewhere (a TMPDIR on NFS, no inotify) the
/// tests that need them say so and stop.
inline bool watchable(const std::string& dir) {
  int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53: case 0x58465342: case 0x9123683E: case 0x01021994: case 0x794C7630:  // ext4 xfs btrfs tmpfs overlay
      return true;
    default:
      return false;
  }
}
#define LLP_REQUIRE_WATCHABLE(dir)                                                             \
  if (!::leanproxy::testing::watchable(dir)) {                                                   \
    MESSAGE("skipped: inotify cannot vouch for " << (dir) << " (no inotify, or not a local filesystem)"); \
    return;                                                                                      \
  }

// An in-memory store: the backend's RocksDB calls without RocksDB.
class MemStore final : public cache::Store {
 public:
  explicit MemStore(bool with_memory_tier = false) : memory_tier(with_memory_tier) {}
  /// With a memory tier, `peek` answers as `get` does (every record is in
  /// memory), so repeats are answered on the caller's thread.
  std::atomic<bool> memory_tier;
  std::optional<std::string> peek(cache::Table t, std::string_view key) override {
    if (!memory_tier) return std::nullopt;
    return get(t, key);
  }
  std::optional<std::string> get(cache::Table t, std::string_view key) override {
    std::lock_guard l(mutex_);
    auto it = records_.find({t, std::string(key)});
    if (it == records_.end()) return std::nullopt;
    return it->second;
  }
  bool put(cache::Table t, std::string_view key, std::string_view payload) override {
    std::lock_guard l(mutex_);
    records_[{t, std::string(key)}] = std::string(payload);
    return true;
  }
  void touch(std::string_view) override {}
  void erase(cache::Table t, std::string_view key) override {
    std::lock_guard l(mutex_);
    records_.erase({t, std::string(key)});
  }
  void clear() override {
    std::lock_guard l(mutex_);
    records_.clear();
  }
  cache::StoreStats stats() const override { return {}; }
  cache::StoreMode mode() const override { return cache::StoreMode::read_write; }
  std::optional<std::string> get_meta(std::string_view) override { return std::nullopt; }
  bool put_meta(std::string_view, std::string_view) override { return true; }
  void enforce_size_bound() override {}

 private:
  std::mutex mutex_;
  std::map<std::pair<cache::Table, std::string>, std::string> records_;
};

// The backend's answers come back through `post`: the test runs them on its
// own thread, as the event loop would.
class Loop {
 public:
  cache::Backend::Post post() {
    return [this](std::function<void()> fn) {
      std::lock_guard l(mutex_);
      tasks_.push_back(std::move(fn));
    };
  }
  /// Runs posted tasks until `done()` (false after 10 s).
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::deque<std::function<void()>> tasks;
      {
        std::lock_guard l(mutex_);
        tasks.swap(tasks_);
      }
      if (tasks.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (auto& t : tasks) t();
    }
    return true;
  }
  /// Runs what has been posted so far.
  void drain() {
    run_until([] { return true; });
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard l(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }

 private:
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

}  // namespace leanproxy::testing
