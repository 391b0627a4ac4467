// Blocking Content-Length transport over two file descriptors, for the test
// servers and the benchmark: plain POSIX, one thread, no Asio.
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "leanproxy/framing/frame_parser.hpp"

namespace testlsp {

class StdioTransport {
 public:
  explicit StdioTransport(int in_fd = 0, int out_fd = 1) : in_fd_(in_fd), out_fd_(out_fd) {}

  /// The next message body, or nullopt at EOF / read error. Framing errors
  /// are skipped: a test server must survive whatever the proxy forwards.
  std::optional<std::string> read() {
    for (;;) {
      auto r = parser_.next();
      if (r.status == leanproxy::framing::FrameParser::Status::frame) return std::move(r.body);
      if (r.status == leanproxy::framing::FrameParser::Status::error) continue;
      ssize_t n = ::read(in_fd_, buf_, sizeof buf_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      read_at_ = std::chrono::steady_clock::now();
      parser_.feed(std::string_view(buf_, static_cast<std::size_t>(n)));
    }
  }

  /// When the bytes of the message read() returned last had arrived: the end
  /// of the read call that completed it (a frame left in the buffer by an
  /// earlier read arrived with that read).
  std::chrono::steady_clock::time_point read_at() const { return read_at_; }

  /// Writes one frame with a single writev (header + body), retrying short
  /// writes. Returns false when the peer is gone.
  bool write(std::string_view body) {
    std::string header;
    leanproxy::framing::append_header(header, body.size());
    iovec iov[2] = {{header.data(), header.size()}, {const_cast<char*>(body.data()), body.size()}};
    int first = 0;
    while (first < 2) {
      ssize_t n = ::writev(out_fd_, iov + first, 2 - first);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      auto left = static_cast<std::size_t>(n);
      while (first < 2 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
      if (first < 2) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return true;
  }

 private:
  int in_fd_, out_fd_;
  leanproxy::framing::FrameParser parser_;
  std::chrono::steady_clock::time_point read_at_{};
  char buf_[64 * 1024];
};

}  // namespace testlsp
