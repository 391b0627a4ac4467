// The cache store interface (get / put / touch / erase / stats) and how to
// open the embedded RocksDB implementation. A shared second tier can sit
// behind the same interface later without touching interception.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace leanproxy::cache {

/// Record kinds, one RocksDB column family each.
enum class Table {
  diagnostics,  ///< document key → final diagnostic set of a finished version
  answers,      ///< (document key, method, position) → goal / hover answer
};

struct StoreStats {
  std::uint64_t entries = 0;       ///< live records over both tables
  std::uint64_t bytes = 0;         ///< their encoded size
  std::uint64_t evictions = 0;     ///< removed to respect the size bound (LRU)
  std::uint64_t expirations = 0;   ///< found past their TTL on read
  std::uint64_t bad_values = 0;    ///< failed validation on read; dropped
  std::uint64_t write_failures = 0;
};

enum class StoreMode {
  read_write,
  read_only,  ///< asked for (--cache=readonly) or the store is locked by another process
  none,       ///< could not be opened: pass-through
};

class Store {
 public:
  virtual ~Store() = default;
  /// The payload of a live record; expired or invalid records are dropped.
  virtual std::optional<std::string> get(Table table, std::string_view key) = 0;
  /// The payload when the store's memory tier holds the live record, without
  /// touching the disk: cheap enough for the I/O thread, safe on any thread.
  /// nullopt says nothing about the disk (ask `get`).
  virtual std::optional<std::string> peek(Table, std::string_view) { return std::nullopt; }
  /// False when the record could not be written (read-only, disk full, …).
  virtual bool put(Table table, std::string_view key, std::string_view json_payload) = 0;
  /// Marks `key` as used now (least-recently-used eviction).
  virtual void touch(std::string_view key) = 0;
  virtual void erase(Table table, std::string_view key) = 0;
  virtual void clear() = 0;
  virtual StoreStats stats() const = 0;
  virtual StoreMode mode() const = 0;
  /// Small metadata values (learned headers, last key per path, …).
  virtual std::optional<std::string> get_meta(std::string_view key) = 0;
  virtual bool put_meta(std::string_view key, std::string_view value) = 0;
  /// Runs the size bound now (normally done in the background after puts).
  virtual void enforce_size_bound() = 0;
};

struct StoreConfig {
  std::string dir;
  std::chrono::seconds ttl{std::chrono::hours(24 * 30)};
  std::uint64_t max_bytes = 1ull << 30;
  bool read_only = false;
  /// Seconds since the epoch; injectable for TTL tests.
  std::function<std::int64_t()> clock;
};

struct OpenedStore {
  std::unique_ptr<Store> store;  ///< never null; mode() none when it could not be opened
  std::string notice;            ///< tell the user once when non-empty (moved aside, locked, …)
};

/// Opens (creating, mode 0700) the RocksDB store in `config.dir`.
///  - Status::Corruption: the directory is moved aside and a fresh store made.
///  - locked by another process: opened as a read-only secondary instance; never moved.
///  - not creatable / not writable: mode none (pass-through).
OpenedStore open_rocksdb_store(const StoreConfig& config);

/// A store that holds nothing (mode none): for key and fingerprint work
/// without a cache (agent checks with --cache off still track imports).
std::unique_ptr<Store> make_null_store();

/// $XDG_CACHE_HOME/lean-lsp-proxy, else ~/.cache/lean-lsp-proxy.
std::string default_cache_dir();

}  // namespace leanproxy::cache
