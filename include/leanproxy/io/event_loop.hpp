// A single-threaded event loop (an Asio io_context behind a thin interface, so
// that only the files under src/io/ pay for Asio's headers).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace leanproxy::io {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs handlers until stop() or until no work is left. A handler that
  /// throws is logged and the loop goes on: one bad message must not end
  /// every session of a daemon. After stop(), run() runs the loop again.
  void run();
  void stop();
  bool stopped() const;
  /// Runs `fn` on the loop, after the current handler returns.
  void post(std::function<void()> fn);

  /// A one-shot timer; destroying or cancelling it means `fn` never runs.
  class Timer {
   public:
    virtual ~Timer() = default;
    virtual void cancel() = 0;
  };
  std::unique_ptr<Timer> after(std::chrono::milliseconds delay, std::function<void()> fn);

  /// Calls `fn()` on the loop each time `fd` is readable (e.g. a listening
  /// socket), until the returned watch is destroyed. The fd stays owned by the caller.
  class Watch {
   public:
    virtual ~Watch() = default;
  };
  std::unique_ptr<Watch> watch_readable(int fd, std::function<void()> fn);

  /// Calls `fn(signal)` on the loop each time one of `signals` arrives.
  void on_signals(const std::vector<int>& signals, std::function<void(int)> fn);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace leanproxy::io
