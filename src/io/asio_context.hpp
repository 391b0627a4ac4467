// Private to src/io: the Asio context behind EventLoop.
#pragma once

#include <boost/asio/io_context.hpp>

#include "leanproxy/io/event_loop.hpp"

namespace leanproxy::io {

struct EventLoop::Impl {
  boost::asio::io_context context{1};
};

inline boost::asio::io_context& context_of(EventLoop& loop) { return loop.impl().context; }

}  // namespace leanproxy::io
