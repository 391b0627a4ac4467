// One editor session over stdio: the client on stdin/stdout, one server child
// process, the router in between, restarts and an orderly end.
#pragma once

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::proxy {

/// Runs the session to its end and returns the process exit status.
int run_stdio_session(const Options& options);

}  // namespace leanproxy::proxy
