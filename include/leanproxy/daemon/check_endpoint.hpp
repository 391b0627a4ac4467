// A daemon connection that only runs agent checks (the CLI's `check`): a
// small JSON-RPC endpoint answering `$/leanProxy/check` on the daemon's
// check service, without a Lean server of its own.
#pragma once

#include <functional>
#include <memory>

#include "leanproxy/pool/check_service.hpp"

namespace leanproxy::io {
class EventLoop;
class FramedStream;
}  // namespace leanproxy::io

namespace leanproxy::daemon {

class CheckEndpoint {
 public:
  /// Takes ownership of `fd` (a connected socket). `on_done` runs once, on the
  /// loop, when the client has gone (its outstanding checks still finish in
  /// the service and warm its documents; their replies are dropped).
  CheckEndpoint(io::EventLoop& loop, int fd, pool::CheckService& service, pool::CheckTarget target,
                std::function<void()> on_done);
  ~CheckEndpoint();
  void start();
  std::uint64_t checks() const { return checks_; }

 private:
  void on_message(std::string body);
  void done();

  io::EventLoop& loop_;
  std::unique_ptr<io::FramedStream> stream_;
  pool::CheckService& service_;
  pool::CheckTarget target_;
  std::function<void()> on_done_;
  std::uint64_t checks_ = 0;
  bool done_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace leanproxy::daemon
