// Store over RocksDB: column families per record kind, TTL on read and in a
// compaction filter, LRU eviction under a size bound, and careful opening
// (corrupt → moved aside; locked → secondary; unwritable → pass-through).
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

#include "leanproxy/cache/record.hpp"
#include "recent_records.hpp"
#include "leanproxy/cache/store.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::cache {
namespace fs = std::filesystem;

namespace {

const char* const kFamilies[] = {rocksdb::kDefaultColumnFamilyName.c_str(), "diagnostics", "answers", "access"};
enum Family { kMeta = 0, kDiagnostics = 1, kAnswers = 2, kAccess = 3 };

std::string encode_time(std::int64_t t) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((static_cast<std::uint64_t>(t) >> (8 * i)) & 0xff);
  return s;
}
std::int64_t decode_time(std::string_view s) {
  if (s.size() != 8) return 0;
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(s[i])) << (8 * i);
  return static_cast<std::int64_t>(u);
}

/// Drops records past their TTL (and records it cannot read) during compaction.
class TtlFilter final : public rocksdb::CompactionFilter {
 public:
  TtlFilter(std::int64_t ttl_s, std::function<std::int64_t()> clock) : ttl_s_(ttl_s), clock_(std::move(clock)) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    auto created = record_created(std::string_view(value.data(), value.size()));
    return !created || *created < 0 || clock_() - *created > ttl_s_;  // created ≥ 0: no overflow
  }
  const char* Name() const override { return "lean-lsp-proxy.TtlFilter"; }

 private:
  std::int64_t ttl_s_;
  std::function<std::int64_t()> clock_;
};

class NullStore final : public Store {
 public:
  std::optional<std::string> get(Table, std::string_view) override { return std::nullopt; }
  bool put(Table, std::string_view, std::string_view) override { return false; }
  void touch(std::string_view) override {}
  void erase(Table, std::string_view) override {}
  void clear() override {}
  StoreStats stats() const override { return {}; }
  StoreMode mode() const override { return StoreMode::none; }
  std::optional<std::string> get_meta(std::string_view) override { return std::nullopt; }
  bool put_meta(std::string_view, std::string_view) override { return false; }
  void enforce_size_bound() override {}
};

class RocksStore final : public Store {
 public:
  RocksStore(StoreConfig cfg, std::unique_ptr<TtlFilter> filter) : cfg_(std::move(cfg)), filter_(std::move(filter)) {}

  ~RocksStore() override {
    if (!db_) return;
    if (write_trouble_) {
      // Closing flushes and syncs, and after an I/O error or on a full disk
      // RocksDB's writers assert instead of failing. What was written is in
      // the WAL already; the process (or the daemon) is ending: let go.
      (void)db_.release();
      return;
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_->Close();
  }

  rocksdb::Status open(bool secondary, const std::string& secondary_dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.max_open_files = 256;
    options.keep_log_file_num = 2;
    options.max_log_file_size = 1 << 20;
    options.IncreaseParallelism(2);
    // Small memtables and no preallocation keep the space a write needs
    // small and predictable (see space_ok()).
    options.write_buffer_size = 4u << 20;
    options.allow_fallocate = false;
    options.avoid_flush_during_shutdown = true;  // the WAL has it; shutdown stays quick
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : kFamilies) {
      rocksdb::ColumnFamilyOptions cf(options);
      if (std::string_view(name) == "diagnostics" || std::string_view(name) == "answers")
        cf.compaction_filter = filter_.get();
      cfs.emplace_back(name, cf);
    }
    rocksdb::DB* db = nullptr;
    rocksdb::Status s;
    if (secondary) {
      options.max_open_files = -1;  // required for secondary instances
      s = rocksdb::DB::OpenAsSecondary(options, cfg_.dir, secondary_dir, cfs, &handles_, &db);
      mode_ = StoreMode::read_only;
    } else if (cfg_.read_only) {
      s = rocksdb::DB::OpenForReadOnly(options, cfg_.dir, cfs, &handles_, &db);
      mode_ = StoreMode::read_only;
    } else {
      s = rocksdb::DB::Open(options, cfg_.dir, cfs, &handles_, &db);
      mode_ = StoreMode::read_write;
    }
    if (s.ok()) {
      db_.reset(db);
      recount();
    }
    return s;
  }

  std::optional<std::string> peek(Table t, std::string_view key) override {
    // Past its TTL a record takes the disk path, which counts and removes it.
    if (auto hit = recent_.find(static_cast<int>(t), key); hit && now() - hit->created <= cfg_.ttl.count())
      return std::move(hit->payload);
    return std::nullopt;
  }

  std::optional<std::string> get(Table t, std::string_view key) override {
    // A record read or written a moment ago is answered from memory (a
    // reopen: ~45 µs less on a cold worker).
    if (auto hit = peek(t, key)) return hit;
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), handle(t), rocksdb::Slice(key.data(), key.size()), &value);
    if (!s.ok()) {
      if (!s.IsNotFound()) log::warn("cache read failed: " + s.ToString());
      return std::nullopt;
    }
    auto rec = decode_record(value);
    if (!rec) {
      ++bad_values_;
      log::warn("cache: dropped an invalid record (format or JSON check failed)");
      erase(t, key);
      return std::nullopt;
    }
    if (now() - rec->created_unix_s > cfg_.ttl.count()) {
      ++expirations_;
      erase(t, key);
      return std::nullopt;
    }
    recent_.remember(static_cast<int>(t), key, rec->created_unix_s, rec->payload);
    return std::move(rec->payload);
  }

  bool put(Table t, std::string_view key, std::string_view payload) override {
    if (mode_ != StoreMode::read_write || !space_ok()) return false;
    std::int64_t created = now();
    std::string value = encode_record(created, payload);
    if (value.size() > max_record_bytes) {
      log::warn("cache: record of " + std::to_string(value.size()) + " bytes not stored (over the cap)");
      return false;
    }
    rocksdb::Slice k(key.data(), key.size());
    std::string old;
    bool existed = db_->Get(rocksdb::ReadOptions(), handle(t), k, &old).ok();
    rocksdb::WriteBatch batch;
    batch.Put(handle(t), k, value);
    batch.Put(handles_[kAccess], k, encode_time(now()));
    auto s = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) {
      write_failed(s);
      return false;
    }
    if (existed) {
      bytes_ -= std::min<std::uint64_t>(bytes_, old.size());
    } else {
      ++entries_;
    }
    bytes_ += value.size();
    recent_.remember(static_cast<int>(t), key, created, payload);
    if (bytes_ > cfg_.max_bytes) enforce_size_bound();
    return true;
  }

  void touch(std::string_view key) override {
    if (mode_ != StoreMode::read_write || !space_ok()) return;
    auto s = db_->Put(rocksdb::WriteOptions(), handles_[kAccess], rocksdb::Slice(key.data(), key.size()),
                      encode_time(now()));
    if (!s.ok()) write_failed(s);
  }

  void erase(Table t, std::string_view key) override {
    recent_.forget(static_cast<int>(t), key);  // always safe: memory holds a subset
    if (mode_ != StoreMode::read_write || !space_ok()) return;
    rocksdb::Slice k(key.data(), key.size());
    std::string old;
    if (!db_->Get(rocksdb::ReadOptions(), handle(t), k, &old).ok()) return;
    rocksdb::WriteBatch batch;
    batch.Delete(handle(t), k);
    batch.Delete(handles_[kAccess], k);
    auto st = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!st.ok()) {
      write_failed(st);
      return;
    }
    entries_ -= std::min<std::uint64_t>(entries_, 1);
    bytes_ -= std::min<std::uint64_t>(bytes_, old.size());
  }

  void clear() override {
    recent_.clear();
    if (mode_ != StoreMode::read_write || !space_ok()) return;
    for (int f : {kDiagnostics, kAnswers, kAccess}) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[f]));
      rocksdb::WriteBatch batch;
      for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(handles_[f], it->key());
      if (auto st = db_->Write(rocksdb::WriteOptions(), &batch); !st.ok()) {
        write_failed(st);
        return;
      }
    }
    entries_ = 0;
    bytes_ = 0;
  }

  StoreStats stats() const override {
    StoreStats s;
    s.entries = entries_;
    s.bytes = bytes_;
    s.evictions = evictions_;
    s.expirations = expirations_;
    s.bad_values = bad_values_;
    s.write_failures = write_failures_;
    return s;
  }

  StoreMode mode() const override { return mode_; }

  std::optional<std::string> get_meta(std::string_view key) override {
    std::string v;
    if (!db_->Get(rocksdb::ReadOptions(), handles_[kMeta], rocksdb::Slice(key.data(), key.size()), &v).ok())
      return std::nullopt;
    return v;
  }

  bool put_meta(std::string_view key, std::string_view value) override {
    if (mode_ != StoreMode::read_write || !space_ok()) return false;
    auto st = db_->Put(rocksdb::WriteOptions(), handles_[kMeta], rocksdb::Slice(key.data(), key.size()),
                       rocksdb::Slice(value.data(), value.size()));
    if (!st.ok()) write_failed(st);
    return st.ok();
  }

  // Evicts least recently used records until the store holds at most 90% of
  // the bound (hysteresis, so one put over the line does not evict each time).
  void enforce_size_bound() override {
    std::lock_guard lock(evict_mutex_);
    if (mode_ != StoreMode::read_write || bytes_ <= cfg_.max_bytes) return;
    struct Use {
      std::int64_t when;
      std::string key;
    };
    std::vector<Use> uses;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[kAccess]));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      uses.push_back({decode_time(std::string_view(it->value().data(), it->value().size())), it->key().ToString()});
    std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) { return a.when < b.when; });
    std::uint64_t target = cfg_.max_bytes / 10 * 9;
    for (const auto& u : uses) {
      if (bytes_ <= target) break;
      for (Table t : {Table::diagnostics, Table::answers}) {
        std::uint64_t before = entries_;
        erase(t, u.key);
        if (entries_ < before) ++evictions_;
      }
    }
  }

 private:
  // RocksDB must never meet a full disk: Debian's build asserts (aborting the
  // whole proxy) when a writer is used again after an I/O error. So writes
  // stop for good once less than kMinFree is left (one statvfs per write:
  // a microsecond, against a write that costs tens).
  static constexpr std::uint64_t kMinFree = 16ull << 20;
  bool space_ok() {
    struct statvfs v {};
    if (::statvfs(cfg_.dir.c_str(), &v) != 0 || static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize >= kMinFree)
      return true;
    write_trouble_ = true;
    StoreMode expected = StoreMode::read_write;
    if (mode_.compare_exchange_strong(expected, StoreMode::read_only))
      log::warn("cache: less than " + std::to_string(kMinFree >> 20) + " MiB free in " + cfg_.dir +
                "; the cache is read-only until the proxy restarts");
    return false;
  }

  // After a failed write (disk full, I/O error) the store stops writing for
  // the rest of this run and keeps serving reads: RocksDB's writer must not be
  // used again after an error (Debian's build asserts on it), and a cache that
  // cannot store must never take the editor down.
  void write_failed(const rocksdb::Status& s) {
    ++write_failures_;
    write_trouble_ = true;
    StoreMode expected = StoreMode::read_write;
    if (mode_.compare_exchange_strong(expected, StoreMode::read_only))
      log::warn("cache: a write failed (" + s.ToString() + "); the cache is read-only until the proxy restarts");
  }

  rocksdb::ColumnFamilyHandle* handle(Table t) const { return handles_[t == Table::diagnostics ? kDiagnostics : kAnswers]; }
  std::int64_t now() const { return cfg_.clock(); }

  void recount() {
    entries_ = bytes_ = 0;
    for (int f : {kDiagnostics, kAnswers}) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[f]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ++entries_;
        bytes_ += it->value().size();
      }
    }
  }

  StoreConfig cfg_;
  std::unique_ptr<TtlFilter> filter_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<StoreMode> mode_{StoreMode::none};
  std::atomic<bool> write_trouble_{false};  ///< a write failed or the disk is nearly full
  std::atomic<long long> space_checked_s_{-1};
  std::atomic<bool> space_ok_{true};  ///< read_write drops to read_only after a failed write
  std::atomic<std::uint64_t> entries_{0}, bytes_{0}, evictions_{0}, expirations_{0}, bad_values_{0},
      write_failures_{0};
  std::mutex evict_mutex_;
  RecentRecords recent_{16u << 20};  ///< every change above passes through it (its invariant)
};

bool is_lock_error(const rocksdb::Status& s) {
  std::string m = s.ToString();
  return s.IsIOError() && (m.find("lock") != std::string::npos || m.find("Resource temporarily unavailable") != std::string::npos);
}

}  // namespace

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/lean-lsp-proxy";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/lean-lsp-proxy";
  return "/tmp/lean-lsp-proxy-cache-" + std::to_string(::getuid());
}

OpenedStore open_rocksdb_store(const StoreConfig& in) {
  StoreConfig cfg = in;
  if (!cfg.clock)
    cfg.clock = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  OpenedStore out;
  std::error_code ec;
  if (!cfg.read_only) {
    fs::create_directories(cfg.dir, ec);
    if (ec) {
      out.notice = "cache directory '" + cfg.dir + "' cannot be created (" + ec.message() + "); running without a cache";
      out.store = std::make_unique<NullStore>();
      return out;
    }
    ::chmod(cfg.dir.c_str(), 0700);  // the cache holds proof results: this user's only
  }
  auto make = [&] {
    return std::make_unique<RocksStore>(cfg, std::make_unique<TtlFilter>(cfg.ttl.count(), cfg.clock));
  };
  struct statvfs v {};
  if (!cfg.read_only && ::statvfs(cfg.dir.c_str(), &v) == 0 &&
      static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize < (16ull << 20)) {
    cfg.read_only = true;  // opening read-write writes files: not on a full disk
    out.notice = "less than 16 MiB free in '" + cfg.dir + "'; the cache is read-only for this run";
  }
  auto store = make();
  rocksdb::Status s = store->open(false, {});
  if (s.ok()) {
    out.store = std::move(store);
    return out;
  }
  if (s.IsCorruption()) {
    std::string aside = cfg.dir + ".corrupt-" + std::to_string(cfg.clock());
    fs::rename(cfg.dir, aside, ec);
    out.notice = "cache store was corrupt (" + s.ToString() + "); moved it to '" + aside + "' and started a new one";
    fs::create_directories(cfg.dir, ec);
    ::chmod(cfg.dir.c_str(), 0700);
    store = make();
    s = store->open(false, {});
    if (s.ok()) {
      out.store = std::move(store);
      return out;
    }
  } else if (is_lock_error(s)) {
    // Another process owns it: never move it; read it as a secondary.
    std::string secondary = (fs::temp_directory_path() / ("lean-lsp-proxy-secondary-" + std::to_string(::getpid()))).string();
    fs::create_directories(secondary, ec);
    store = make();
    auto s2 = store->open(true, secondary);
    if (s2.ok()) {
      out.notice = "cache store '" + cfg.dir + "' is in use by another process; using it read-only";
      out.store = std::move(store);
      return out;
    }
    out.notice = "cache store '" + cfg.dir + "' is in use by another process and cannot be read (" + s2.ToString() +
                 "); running without a cache";
    out.store = std::make_unique<NullStore>();
    return out;
  }
  out.notice = "cache store '" + cfg.dir + "' cannot be opened (" + s.ToString() + "); running without a cache";
  out.store = std::make_unique<NullStore>();
  return out;
}

std::unique_ptr<Store> make_null_store() { return std::make_unique<NullStore>(); }

}  // namespace leanproxy::cache
