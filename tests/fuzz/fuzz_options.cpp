// Fuzzes command-line parsing (proxy/options): the input split at NUL bytes
// is argv. No crash and no undefined behaviour (UBSan); an accepted command
// line gives values the rest of the proxy can use as they are: positive sizes
// and durations, a restart window that converts to milliseconds (session.cpp
// does static_cast<long>(restart_window_s * 1000)), an idle timeout that
// converts to milliseconds (daemon.cpp).
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "leanproxy/proxy/options.hpp"

namespace proxy = leanproxy::proxy;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unsetenv("LEAN_LSP_PROXY_NO_DAEMON");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"lean-lsp-proxy"};
  for (std::size_t i = 0; i <= in.size();) {
    std::size_t z = in.find('\0', i);
    if (z == std::string_view::npos) z = in.size();
    args.emplace_back(in.substr(i, z - i));
    i = z + 1;
    if (args.size() > 64) break;
  }
  if (in.empty()) args.pop_back();
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);

#ifdef LEANPROXY_FUZZ_SKIP_KNOWN
  // parse_duration overflows (UB) on long numbers with a unit suffix.
  for (auto& a : args)
    for (std::size_t i = 0, run = 0; i < a.size(); ++i)
      if ((run = std::isdigit(static_cast<unsigned char>(a[i])) ? run + 1 : 0) >= 12) return 0;
#endif
  auto r = proxy::parse_options(static_cast<int>(args.size()), argv.data());
  if (!r.error.empty()) return 0;
  const auto& o = r.options;
  std::string line;
  for (auto& a : args) line += fuzz::show(a) + " ";
  FUZZ_CHECK(o.max_message_size > 0 && o.cache_max_size > 0, "accepted a zero size: " + line);
  FUZZ_CHECK(o.cache_ttl_s > 0 && o.idle_timeout_s > 0, "accepted a non-positive duration: " + line);
  FUZZ_CHECK(o.max_restarts >= 0, "accepted a negative --max-restarts: " + line);
#ifndef LEANPROXY_FUZZ_SKIP_KNOWN
  FUZZ_CHECK(o.restart_window_s > 0 && std::isfinite(o.restart_window_s) &&
                 o.restart_window_s * 1000 < static_cast<double>(LONG_MAX),
             "accepted a --restart-window that session.cpp cannot convert to milliseconds (" +
                 std::to_string(o.restart_window_s) + "): " + line);
  // daemon.cpp arms its idle timer with duration_cast<milliseconds>(seconds(idle_timeout_s)).
  FUZZ_CHECK(o.idle_timeout_s <= LLONG_MAX / 1000, "an --idle-timeout that overflows milliseconds: " + line);
#endif
  return 0;
}
