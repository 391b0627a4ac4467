// leanProxy.cache.explain: why a document's last lookup hit or missed, in
// the manner of ccache's debug mode (the key's components, what differs from
// the entry last stored for the path, a verdict).
#include <nlohmann/json.hpp>

#include "leanproxy/cache/interceptor.hpp"

namespace leanproxy::cache {

std::string CacheInterceptor::explain(const std::string& uri) const {
  nlohmann::json j;
  j["uri"] = uri;
  auto it = docs_.find(uri);
  if (it == docs_.end()) {
    j["open"] = false;
    return j.dump();
  }
  const Doc& d = it->second;
  const Version& v = d.v;
  j["open"] = true;
  j["version"] = v.number;
  j["enabled"] = options_.enabled;
  j["lookup"] = v.bypass ? "bypassed (Restart File)"
                : v.lookup == Lookup::hit ? "hit"
                : v.lookup == Lookup::miss ? "miss"
                                           : "pending";
  j["worker_imports_stale"] = d.stale;
  if (lazy()) j["server_has_version"] = v.sent;
  j["stored_since"] = v.stored;
  if (v.answer) {
    j["cacheable"] = v.answer->cacheable;
    if (!v.answer->cacheable) j["reason"] = v.answer->reason;
    j["key"] = v.answer->key.digest;
    nlohmann::json comps = nlohmann::json::object();
    for (auto& [name, digest] : v.answer->key.components) comps[name] = digest;
    j["components"] = comps;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CacheInterceptor::explain_with_last(const std::string& now_text, const std::string& last_text) {
  auto j = nlohmann::json::parse(now_text, nullptr, false);
  auto last = nlohmann::json::parse(last_text, nullptr, false);
  if (j.is_discarded()) return now_text;
  std::vector<std::string> differs;
  if (last.is_object() && j.contains("components")) {
    j["last_stored"] = last;
    for (auto& [name, digest] : j["components"].items())
      if (!last.contains(name) || last[name] != digest) differs.push_back(name);
    j["differs_from_last_stored"] = differs;
  } else {
    j["last_stored"] = nullptr;
  }
  std::string verdict;
  if (!j.value("open", false)) verdict = "the document is not open in this session";
  else if (!j.value("enabled", true)) verdict = "the cache is disabled";
  else if (j.value("worker_imports_stale", false))
    verdict = "not served or stored: the document's worker holds older imports than the disk; restart the file";
  else if (j.contains("cacheable") && !j["cacheable"].get<bool>())
    verdict = "uncacheable: " + j.value("reason", std::string("?"));
  else if (j.value("lookup", std::string()) == "hit") verdict = "hit: served from the cache";
  else if (j.value("lookup", std::string()).rfind("bypassed", 0) == 0) verdict = "not looked up: Restart File refreshes";
  else if (j.value("lookup", std::string()) == "pending") verdict = "the lookup is still running";
  else if (j.value("stored_since", false)) verdict = "miss: this content was not cached yet; its result has been stored since, so the next open hits";
  else if (!last.is_object()) verdict = "miss: nothing was stored for this file yet";
  else if (differs.empty()) verdict = "miss: the last stored entry has this very key but is gone (expired, evicted or cleared)";
  else {
    verdict = "miss: differs from the last stored entry for this file in:";
    for (auto& d : differs) verdict += " " + d;
  }
  j["verdict"] = verdict;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace leanproxy::cache
