// lean-lsp-proxy: command-line entry point.
#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "leanproxy/proxy/options.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/reaper.hpp"

#ifndef LEANPROXY_VERSION
#define LEANPROXY_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  using namespace leanproxy;
  // Internal: the per-server reaper (see util/reaper.hpp).
  if (argc >= 3 && std::string_view(argv[1]) == util::reaper_command && std::string_view(argv[2]) == "--")
    return util::reaper_main(std::vector<std::string>(argv + 3, argv + argc));
  auto parsed = proxy::parse_options(argc, argv);
  if (!parsed.error.empty()) {
    std::cerr << "lean-lsp-proxy: " << parsed.error << "\nTry 'lean-lsp-proxy --help'.\n";
    return 2;
  }
  const auto& o = parsed.options;
  if (o.help) {
    std::cout << proxy::usage();
    return 0;
  }
  if (o.version) {
    std::cout << "lean-lsp-proxy " LEANPROXY_VERSION "\n";
    return 0;
  }
  log::set_level(o.log_level);
  if (o.log_file) {
    std::string err;
    if (!log::set_file(*o.log_file, err)) log::warn(err + "; logging to stderr");
  }
  return proxy::run_stdio_session(o);
}
