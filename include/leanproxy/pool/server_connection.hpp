// The proxy's own LSP client to a language server it runs for itself (agent
// checks, later the warm pool): spawn, initialize handshake, requests with
// reply callbacks, notifications, and an orderly or forced end.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>

#include "leanproxy/io/server_process.hpp"
#include "leanproxy/protocol/message.hpp"

namespace leanproxy::io {
class FramedStream;
}

namespace leanproxy::pool {

/// Invariants: every request gets its callback exactly once — with the
/// server's reply, or with an error reply made here when the server ends
/// first; requests from the server are answered at once with `null` (what a
/// minimal client does: `client/registerCapability` accepted, refreshes
/// acknowledged), so the server never waits on us.
class ServerConnection {
 public:
  struct Handlers {
    std::function<void(const protocol::Message&)> on_notification;
    /// The server is gone (process ended and output closed). Called once,
    /// after the pending callbacks got their error replies.
    std::function<void(const std::string& why)> on_exit;
    /// Sees each server request before it is answered with `null` (the pool
    /// records `client/registerCapability` to replay it to a client).
    std::function<void(const protocol::Message&)> on_request;
  };
  ServerConnection(io::EventLoop& loop, io::ServerProcess::Spec spec, std::size_t max_message, Handlers handlers);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  /// Spawns the server and sends `initialize` (then `initialized` once it
  /// replies); `ready(ok, result_or_error_message)` runs once. Throws
  /// std::runtime_error when the server cannot be started.
  void start(const std::string& initialize_params, std::function<void(bool, std::string)> ready);
  /// Returns the request's id (for cancel()).
  std::int64_t request(std::string_view method, const std::string& params,
                       std::function<void(const protocol::Message&)> on_reply);
  void notify(std::string_view method, const std::string& params);
  void cancel(std::int64_t id);
  /// `shutdown` + `exit`, SIGKILL if the server is still there after a grace.
  void shutdown();
  void kill();
  /// Hands the live server over (a pooled server to a session), with no
  /// request of ours outstanding; this connection is inert afterwards and
  /// the new owner must set the stream's handlers and the process's callbacks.
  struct Released {
    std::unique_ptr<io::ServerProcess> process;
    std::unique_ptr<io::FramedStream> stream;
  };
  Released release();
  /// Replaces every handler with just this end notice (an owner letting go).
  void set_on_exit(std::function<void(const std::string&)> on_exit) { handlers_ = {{}, std::move(on_exit), {}}; }
  bool idle() const { return pending_.empty(); }
  bool alive() const { return alive_; }
  pid_t pid() const;

 private:
  void on_message(std::string body);
  void gone_part(bool process);
  void fail_pending(const std::string& why);

  io::EventLoop& loop_;
  io::ServerProcess::Spec spec_;
  std::size_t max_message_;
  Handlers handlers_;
  std::unique_ptr<io::ServerProcess> process_;
  std::unique_ptr<io::FramedStream> stream_;
  std::unordered_map<std::int64_t, std::function<void(const protocol::Message&)>> pending_;
  std::int64_t next_id_ = 1;
  bool alive_ = false, process_ended_ = false, output_closed_ = false, reported_ = false;
  std::string exit_description_;
  std::unique_ptr<io::EventLoop::Timer> kill_timer_;
  std::shared_ptr<bool> token_ = std::make_shared<bool>(true);  ///< expires with this object
};

}  // namespace leanproxy::pool
