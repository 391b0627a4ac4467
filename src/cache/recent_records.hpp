// The store's memory tier: the records it last read or wrote, least recently
// used dropped first, so a repeat skips RocksDB.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace leanproxy::cache {

/// Invariant: holds only what the owning store would return for the same
/// (table, key) right now, apart from the TTL, which the caller checks on
/// `created` as it does for a record read from disk. The store keeps that
/// true by passing every change of its own through here (put, erase, clear,
/// eviction); its RocksDB view changes through nothing else (the owner holds
/// the lock; a read-only or secondary instance sees the snapshot it opened).
class RecentRecords {
 public:
  explicit RecentRecords(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  struct Hit {
    std::int64_t created;
    std::string payload;
  };

  std::optional<Hit> find(int table, std::string_view key) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(id(table, key));
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second.lru);  // most recently used first
    return Hit{it->second.created, it->second.payload};
  }

  void remember(int table, std::string_view key, std::int64_t created, std::string_view payload) {
    std::lock_guard lock(mutex_);
    drop(id(table, key));
    if (payload.size() > max_bytes_ / 4) return;  // one record never pushes out all others
    std::string k = id(table, key);
    order_.push_front(k);
    map_.emplace(std::move(k), Entry{created, std::string(payload), order_.begin()});
    bytes_ += payload.size();
    while (bytes_ > max_bytes_) drop(order_.back());
  }

  void forget(int table, std::string_view key) {
    std::lock_guard lock(mutex_);
    drop(id(table, key));
  }

  void clear() {
    std::lock_guard lock(mutex_);
    map_.clear();
    order_.clear();
    bytes_ = 0;
  }

 private:
  struct Entry {
    std::int64_t created;
    std::string payload;
    std::list<std::string>::iterator lru;
  };

  static std::string id(int table, std::string_view key) {
    std::string k(1, static_cast<char>('0' + table));
    k.append(key);
    return k;
  }

  void drop(const std::string& k) {
    auto it = map_.find(k);
    if (it == map_.end()) return;
    bytes_ -= it->second.payload.size();
    order_.erase(it->second.lru);  // `k` may be this node's own string: not used after this
    map_.erase(it);
  }

  std::mutex mutex_;
  std::size_t max_bytes_, bytes_ = 0;
  std::list<std::string> order_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace leanproxy::cache
