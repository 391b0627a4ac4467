// Cache counters and their JSON form.
#include "leanproxy/cache/stats.hpp"

#include <algorithm>
#include <cstdio>

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::cache {

void CacheStats::record_lookup(double us) {
  if (lookup_us.size() >= 4096) lookup_us.erase(lookup_us.begin(), lookup_us.begin() + 1024);
  lookup_us.push_back(us);
}

double CacheStats::percentile(double p) const {
  if (lookup_us.empty()) return 0;
  std::vector<double> v = lookup_us;
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

namespace {
std::string num(double d) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", d);
  return b;
}
std::string map_json(const std::map<std::string, std::uint64_t>& m) {
  std::string out = "{";
  for (auto& [k, v] : m) out += (out.size() > 1 ? "," : "") + json::quote(k) + ":" + std::to_string(v);
  return out + "}";
}
}  // namespace

std::string CacheStats::to_json() const {
  std::uint64_t lookups = hits + misses;
  return "{\"hits\":" + std::to_string(hits) + ",\"verified_hits\":" + std::to_string(verified_hits) +
         ",\"mismatches\":" + std::to_string(mismatches) + ",\"misses\":" + std::to_string(misses) +
         ",\"hit_rate\":" + num(lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0) +
         ",\"stores\":" + std::to_string(stores) + ",\"answer_hits\":" + std::to_string(answer_hits) +
         ",\"answer_misses\":" + std::to_string(answer_misses) + ",\"answer_stores\":" + std::to_string(answer_stores) +
         ",\"uncacheable\":" + map_json(uncacheable) + ",\"skipped\":" + map_json(skipped) +
         ",\"lookup_p50_us\":" + num(percentile(0.5)) + ",\"lookup_p99_us\":" + num(percentile(0.99)) +
         ",\"elaboration_ms_saved\":" + num(elab_ms_saved) + "}";
}

}  // namespace leanproxy::cache
