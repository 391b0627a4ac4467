// Hello encoding/decoding (nlohmann: small, rare messages) and blocking frame I/O.
#include "leanproxy/daemon/wire.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <unistd.h>

#include "leanproxy/framing/frame_parser.hpp"
#include "leanproxy/util/fd_io.hpp"

namespace leanproxy::daemon {
using nlohmann::json;

std::string encode_session_hello(const proxy::Options& o, const std::vector<std::string>& argv,
                                 const std::string& cwd, const std::vector<std::string>& env, const std::string& kind) {
  json opts = {{"max_message_size", o.max_message_size},
               {"max_restarts", o.max_restarts},
               {"restart_window_s", o.restart_window_s},
               {"cache", o.cache == proxy::Options::CacheMode::off        ? "off"
                         : o.cache == proxy::Options::CacheMode::readonly ? "readonly"
                                                                          : "on"},
               {"advertise_commands", o.advertise_commands},
               {"on_hit", o.on_hit == proxy::Options::OnHit::lazy ? "lazy" : "forward"},
               {"check_docs", o.check_docs},
               {"check_timeout_ms", o.check_timeout_ms},
               {"warm_headers", o.warm_headers},
               {"sandbox", o.sandbox}};
  if (o.trace_dir) opts["trace_dir"] = *o.trace_dir;
  json j = {{"lean-lsp-proxy", wire_version}, {"kind", kind}, {"argv", argv},
            {"cwd", cwd}, {"env", env}, {"options", opts}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_control_hello(const std::string& command, const std::string& args_json) {
  json j = {{"lean-lsp-proxy", wire_version}, {"kind", "control"}, {"command", command},
            {"args", json::parse(args_json, nullptr, false)}};
  return j.dump();
}

std::optional<Hello> decode_hello(const std::string& body, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    error = "the first message is not a lean-lsp-proxy hello (is an old client talking to a new daemon?)";
    return std::nullopt;
  }
  if (j.value("lean-lsp-proxy", 0) != wire_version) {
    error = "wire version mismatch: the daemon speaks " + std::to_string(wire_version) +
            "; stop the old daemon with `lean-lsp-proxy daemon stop`";
    return std::nullopt;
  }
  try {
    Hello h;
    h.kind = j.at("kind").get<std::string>();
    if (h.kind == "control") {
      h.command = j.at("command").get<std::string>();
      if (j.contains("args")) h.args = j["args"].dump();
      return h;
    }
    if (h.kind != "session" && h.kind != "checks") {
      error = "unknown connection kind '" + h.kind + "'";
      return std::nullopt;
    }
    h.argv = j.at("argv").get<std::vector<std::string>>();
    h.cwd = j.at("cwd").get<std::string>();
    h.env = j.value("env", std::vector<std::string>{});
    const json& o = j.at("options");
    h.options.max_message_size = o.value("max_message_size", h.options.max_message_size);
    h.options.max_restarts = o.value("max_restarts", h.options.max_restarts);
    h.options.restart_window_s = o.value("restart_window_s", h.options.restart_window_s);
    std::string cache = o.value("cache", std::string("on"));
    if (cache == "off") h.options.cache = proxy::Options::CacheMode::off;
    if (cache == "readonly") h.options.cache = proxy::Options::CacheMode::readonly;
    if (o.contains("trace_dir")) h.options.trace_dir = o["trace_dir"].get<std::string>();
    h.options.advertise_commands = o.value("advertise_commands", false);
    if (o.value("on_hit", std::string()) == "lazy") h.options.on_hit = proxy::Options::OnHit::lazy;
    h.options.check_docs = std::clamp(o.value("check_docs", h.options.check_docs), 1, 64);
    h.options.check_timeout_ms = std::max(1LL, o.value("check_timeout_ms", h.options.check_timeout_ms));
    h.options.warm_headers = o.value("warm_headers", std::vector<std::string>{});
    h.options.sandbox = o.value("sandbox", false);
    if (h.argv.empty()) {
      error = "session hello without a server command";
      return std::nullopt;
    }
    return h;
  } catch (const std::exception& e) {
    error = std::string("malformed hello: ") + e.what();
    return std::nullopt;
  }
}

bool write_frame(int fd, const std::string& body) { return util::write_all(fd, framing::encode(body)); }

std::optional<std::string> read_frame(int fd, int timeout_ms, std::string& error, std::string* rest) {
  framing::FrameParser parser(1 << 20);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    auto r = parser.next();
    if (r.status == framing::FrameParser::Status::frame) {
      if (rest) *rest += parser.take_buffered();
      return r.body;
    }
    if (r.status == framing::FrameParser::Status::error) {
      error = r.error;
      return std::nullopt;
    }
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      error = "timed out waiting for the daemon's reply";
      return std::nullopt;
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      error = "the daemon closed the connection";
      return std::nullopt;
    }
    parser.feed(std::string_view(buf, static_cast<std::size_t>(got)));
  }
}

}  // namespace leanproxy::daemon
