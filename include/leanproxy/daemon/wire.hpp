// The daemon's connection protocol: one framed JSON hello from the client,
// one framed JSON reply, then (for sessions) raw LSP bytes both ways.
//
//   session hello: {"lean-lsp-proxy":2,"kind":"session","argv":[...],"cwd":"...",
//                   "env":["K=V",...],"options":{...per-session options...}}
//   control hello: {"lean-lsp-proxy":2,"kind":"control","command":"stats","args":{...}}
//   reply:         {"ok":true,...} or {"ok":false,"error":"..."}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "leanproxy/proxy/options.hpp"

namespace leanproxy::daemon {

// 2: options carry "sandbox". A daemon of version 1 would ignore it and run
// sandboxed checks unsandboxed; the version mismatch makes the client fall
// back to an in-process session, which honours it.
inline constexpr int wire_version = 2;

struct Hello {
  std::string kind;  ///< "session", "checks" or "control"
  std::vector<std::string> argv;
  std::string cwd;
  std::vector<std::string> env;
  proxy::Options options;  ///< per-session fields only
  std::string command;     ///< control
  std::string args;        ///< control: raw JSON (or empty)
};

/// `kind` "checks": a connection that only sends `$/leanProxy/check`
/// requests (the CLI's), served by the daemon's check service without a
/// server of its own.
std::string encode_session_hello(const proxy::Options& options, const std::vector<std::string>& argv,
                                 const std::string& cwd, const std::vector<std::string>& env,
                                 const std::string& kind = "session");
std::string encode_control_hello(const std::string& command, const std::string& args_json = "{}");
/// nullopt with `error` set when the hello is malformed or of another version.
std::optional<Hello> decode_hello(const std::string& body, std::string& error);

/// Blocking helpers for the client side over a connected socket.
bool write_frame(int fd, const std::string& body);
/// Reads one frame (the reply) within `timeout_ms`; bytes that arrived after
/// it (the session's first LSP output) are appended to `rest`.
std::optional<std::string> read_frame(int fd, int timeout_ms, std::string& error, std::string* rest = nullptr);

}  // namespace leanproxy::daemon
