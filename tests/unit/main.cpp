// doctest entry point for the unit tests; the proxy's log is silenced unless
// LEANPROXY_TEST_LOG names a level (e.g. debug).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "leanproxy/util/log.hpp"

int main(int argc, char** argv) {
  using namespace leanproxy::log;
  Level level = Level::off;
  if (const char* env = std::getenv("LEANPROXY_TEST_LOG")) parse_level(env, level);
  set_level(level);
  doctest::Context context(argc, argv);
  return context.run();
}
