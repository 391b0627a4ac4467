// Test driver for the simulator: spawns `lean`/`lake` with pipes, speaks
// framed JSON-RPC to them, runs one-shot commands, reads the event log.
#pragma once

#include <leanproxy/framing/frame_parser.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace simtest {

using json = nlohmann::json;

std::string bin(const std::string& name);  ///< LEANSIM_BIN_DIR/name

/// A fresh directory under /tmp, removed with its contents on destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
  void write(const std::string& rel, const std::string& content) const;
  std::string read(const std::string& rel) const;
  std::string uri(const std::string& rel) const;
};

using Env = std::map<std::string, std::string>;

/// One server process (`lean --server` or `lake serve`) on pipes.
class Server {
 public:
  Server(const std::vector<std::string>& argv, const std::string& cwd, const Env& env = {});
  ~Server();
  Server(const Server&) = delete;

  void send(const json& msg);
  void send_raw(const std::string& body);
  /// Next message within `timeout_ms`, or nullopt (timeout or EOF).
  std::optional<json> recv(int timeout_ms = 5000);
  /// Collects messages until `pred` matches one (included); fails the test on timeout.
  std::vector<json> until(const std::function<bool(const json&)>& pred, int timeout_ms = 5000);
  /// Request + the messages up to and including its reply (the last element).
  std::vector<json> request(const std::string& method, const json& params, int timeout_ms = 5000);
  /// initialize + initialized, consuming the register_lean_watcher request.
  json initialize(bool silent_support = true);
  /// The same with `capabilities.lean` = lean_caps (e.g. incrementalDiagnosticSupport).
  json initialize_with(const json& lean_caps);
  void open(const std::string& uri, const std::string& text, int version = 1, const char* build_mode = nullptr);
  /// waitForDiagnostics for `version`; returns everything up to its reply.
  std::vector<json> wait_diags(const std::string& uri, int version, int timeout_ms = 10000);
  /// The last publishDiagnostics params for (uri, version) received so far,
  /// across all calls (messages of one document may arrive while waiting for
  /// another); fails the test if there is none.
  json last_publish(const std::string& uri, int version) const;
  /// Exit status once the process ends (-1 after timeout).
  int wait_exit(int timeout_ms = 5000);
  int pid() const { return pid_; }
  /// Frames received whose body was not JSON (the malformed-frame fault).
  int malformed() const { return malformed_; }

 private:
  int pid_ = -1, in_ = -1, out_ = -1;
  int next_id_ = 100;
  leanproxy::framing::FrameParser parser_;
  bool exited_ = false;
  int malformed_ = 0;
  std::vector<json> history_;
};

struct RunResult {
  int code = -1;
  std::string out;
};
/// Runs a command to completion, capturing stdout.
RunResult run(const std::vector<std::string>& argv, const std::string& cwd, const Env& env = {});

/// The JSON lines of an LEAN_SIM_EVENTS file with ev == kind (all when empty).
std::vector<json> events(const std::string& file, const std::string& kind = "");

/// Helpers over message lists.
std::vector<json> publishes(const std::vector<json>& msgs, int version = -1);
/// What a client holds after these publishes of one version: an
/// `isIncremental: true` publish appends, any other replaces.
json accumulate(const std::vector<json>& publishes);
bool is_progress_done(const json& m);

}  // namespace simtest
