// Request handlers of the simulated file worker: goals, hover, symbols, RPC,
// waitForDiagnostics and cancellation.
#pragma once

#include "worker_state.hpp"

namespace leansim {

/// Answers (or queues, for waitForDiagnostics) one request from the watchdog.
void handle_request(WorkerState& st, const json& msg);
/// `$/cancelRequest`: a request still waiting is answered with requestCancelled.
void cancel_request(WorkerState& st, const json& id);

}  // namespace leansim
