// Content hashes of files, memoised by (path, device, inode, size, mtime and
// ctime in ns). A file modified less than `racy_window` ago is hashed every
// time and never memoised (git's "racy clean" rule): Lake rewrites `.trace`
// files with the same size within one coarse mtime tick.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace leanproxy::cache {

class FileHasher {
 public:
  explicit FileHasher(std::chrono::milliseconds racy_window = std::chrono::milliseconds(2000))
      : racy_window_(racy_window) {}

  /// SHA-256 hex of the file's bytes; nullopt when it cannot be read.
  std::optional<std::string> hash(const std::string& path);
  /// The file's bytes through the same memo (small files: traces, sources,
  /// the lakefile); files over 1 MiB are read but not kept.
  std::optional<std::string> read(const std::string& path);

  /// True when `path` is a regular file (a search-path probe).
  bool exists(const std::string& path) { return identity(path).has_value(); }
  /// Every path looked at from now on (hashed, read or probed) is appended
  /// to `log` until it is reset to null: what a result computed through
  /// this hasher depends on. The caller's thread only.
  void set_probe_log(std::vector<std::string>* log) { probes_ = log; }

  std::uint64_t hashed() const { return hashed_; }      ///< files actually read
  std::uint64_t memo_hits() const { return memo_hits_; }

 private:
  struct Entry {
    std::uint64_t dev, ino, size;
    std::int64_t mtime_ns, ctime_ns;
    std::string digest;  ///< or the content, in the read memo
    bool same_file(const Entry& o) const {
      return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
    }
  };
  /// The stat identity of `path`, or nullopt (missing, not a regular file).
  std::optional<Entry> identity(const std::string& path);
  bool old_enough(const Entry& e) const;
  std::chrono::milliseconds racy_window_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> memo_;
  std::unordered_map<std::string, Entry> content_;
  std::uint64_t hashed_ = 0, memo_hits_ = 0;
  std::vector<std::string>* probes_ = nullptr;
};

}  // namespace leanproxy::cache
