// doctest entry point for the agent check tests (they drive the proxy and simulator as processes).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
