// Cache counters kept by the interceptor, for the stats commands and logs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace leanproxy::cache {

struct CacheStats {
  std::uint64_t hits = 0;           ///< versions answered from the cache
  std::uint64_t verified_hits = 0;  ///< … whose server result then matched
  std::uint64_t mismatches = 0;     ///< … whose server result differed (a key missed a dependency)
  std::uint64_t misses = 0;
  std::uint64_t stores = 0;
  std::uint64_t answer_hits = 0, answer_misses = 0, answer_stores = 0;
  std::map<std::string, std::uint64_t> uncacheable;  ///< by reason
  std::map<std::string, std::uint64_t> skipped;      ///< stores skipped, by reason
  double elab_ms_saved = 0;
  std::vector<double> lookup_us;  ///< recent lookup latencies (bounded)

  void record_lookup(double us);
  double percentile(double p) const;  ///< of lookup_us; 0 when empty
  /// A JSON object (the "cache" part of the stats schema, less the store's fields).
  std::string to_json() const;
};

}  // namespace leanproxy::cache
