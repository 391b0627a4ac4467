// A framed JSON-RPC channel over file descriptors (see channel.hpp).
#include "channel.hpp"

#include <unistd.h>

#include <cerrno>

namespace leansim {

std::optional<Channel::Read> Channel::next() {
  for (;;) {
    auto r = parser_.next();
    if (r.status == leanproxy::framing::FrameParser::Status::need_more) return std::nullopt;
    if (r.status == leanproxy::framing::FrameParser::Status::error) return Read{Status::parse_error, {}};
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return Read{Status::parse_error, {}};
    return Read{Status::message, std::move(j)};
  }
}

Channel::Read Channel::read() {
  char buf[65536];
  for (;;) {
    if (auto r = next()) return *r;
    ssize_t n = ::read(in_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Read{Status::eof, {}};
    parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

bool Channel::write_raw(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(out_fd_, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool Channel::write(const json& msg) { return write_raw(leanproxy::framing::encode(msg.dump(-1, ' ', false, json::error_handler_t::replace))); }

json make_response(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, int code, const std::string& message) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json make_notification(const std::string& method, json params) {
  return json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

json make_request(const json& id, const std::string& method, json params) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace leansim
