// EventLoop over boost::asio::io_context.
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_context.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::io {
namespace asio = boost::asio;

namespace {

class AsioTimer final : public EventLoop::Timer {
 public:
  AsioTimer(asio::io_context& ctx, std::chrono::milliseconds d, std::function<void()> fn)
      : timer_(ctx, d), state_(std::make_shared<bool>(true)) {
    timer_.async_wait([fn = std::move(fn), alive = state_](const boost::system::error_code& ec) {
      if (!ec && *alive) fn();
    });
  }
  ~AsioTimer() override { cancel(); }
  void cancel() override {
    *state_ = false;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> state_;  // false once cancelled, even if the wait already completed
};

class AsioWatch final : public EventLoop::Watch {
 public:
  AsioWatch(asio::io_context& ctx, int fd, std::function<void()> fn)
      : desc_(std::make_shared<asio::posix::stream_descriptor>(ctx, fd)),
        fn_(std::make_shared<std::function<void()>>(std::move(fn))),
        alive_(std::make_shared<bool>(true)) {
    arm(desc_, fn_, alive_);
  }
  ~AsioWatch() override {
    *alive_ = false;
    boost::system::error_code ignored;
    desc_->cancel(ignored);
    desc_->release();  // the fd belongs to the caller
  }

 private:
  static void arm(std::shared_ptr<asio::posix::stream_descriptor> d, std::shared_ptr<std::function<void()>> fn,
                  std::shared_ptr<bool> alive) {
    d->async_wait(asio::posix::descriptor_base::wait_read, [d, fn, alive](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      (*fn)();
      if (*alive) arm(d, fn, alive);
    });
  }
  std::shared_ptr<asio::posix::stream_descriptor> desc_;
  std::shared_ptr<std::function<void()>> fn_;
  std::shared_ptr<bool> alive_;
};

void wait_signals(std::shared_ptr<asio::signal_set> set, std::shared_ptr<std::function<void(int)>> fn) {
  set->async_wait([set, fn](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    (*fn)(sig);
    wait_signals(set, fn);
  });
}

}  // namespace

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

void EventLoop::run() {
  if (impl_->context.stopped()) impl_->context.restart();  // a loop stop() ended runs again
  for (;;) {
    try {
      impl_->context.run();
      return;
    } catch (const std::exception& e) {
      log::error(std::string("internal error in an event handler (continuing): ") + e.what());
    }
  }
}
void EventLoop::stop() { impl_->context.stop(); }
bool EventLoop::stopped() const { return impl_->context.stopped(); }
void EventLoop::post(std::function<void()> fn) {
  asio::post(impl_->context, [fn = std::move(fn)] {
    WriteBatch batch;
    fn();
  });
}

std::unique_ptr<EventLoop::Timer> EventLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  return std::make_unique<AsioTimer>(impl_->context, delay, std::move(fn));
}

std::unique_ptr<EventLoop::Watch> EventLoop::watch_readable(int fd, std::function<void()> fn) {
  return std::make_unique<AsioWatch>(impl_->context, fd, std::move(fn));
}

void EventLoop::on_signals(const std::vector<int>& signals, std::function<void(int)> fn) {
  auto set = std::make_shared<asio::signal_set>(impl_->context);
  for (int s : signals) set->add(s);
  wait_signals(set, std::make_shared<std::function<void(int)>>(std::move(fn)));
}

}  // namespace leanproxy::io
