// A framed JSON-RPC channel over a pair of file descriptors (stdio or pipes).
#pragma once

#include "sim_util.hpp"

#include <leanproxy/framing/frame_parser.hpp>

#include <mutex>
#include <optional>
#include <string>

namespace leansim {

/// Reading is single-threaded (one reader per channel); writing is serialised
/// by a mutex so several threads may write whole frames without interleaving.
class Channel {
 public:
  Channel(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}

  enum class Status { message, parse_error, eof };
  struct Read {
    Status status = Status::eof;
    json msg;
  };
  /// Blocks for the next message. A body that is not JSON is parse_error.
  Read read();
  /// Feeds bytes read elsewhere (for poll-driven loops); then use next().
  void feed(const char* data, std::size_t n) { parser_.feed(std::string_view(data, n)); }
  std::optional<Read> next();

  /// Writes one frame; false once the peer is gone (EPIPE is a normal close).
  bool write(const json& msg);
  bool write_raw(const std::string& bytes);

  int in_fd() const { return in_fd_; }
  int out_fd() const { return out_fd_; }

 private:
  int in_fd_, out_fd_;
  leanproxy::framing::FrameParser parser_;
  std::mutex write_mu_;
};

/// JSON-RPC builders.
json make_response(const json& id, json result);
json make_error(const json& id, int code, const std::string& message);
json make_notification(const std::string& method, json params);
json make_request(const json& id, const std::string& method, json params);

}  // namespace leansim
