// Session transcripts: every message in both directions, one JSON line each,
// like Lean's LEAN_SERVER_LOG_DIR; readable by tests and replay tools.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace leanproxy::proxy {

/// Writes `DIR/trace-<UTC time>-<pid>.jsonl`. Each line is
/// {"t_us": <µs since start>, "dir": "client->server" | "server->client" | ..., "msg": <message>}
/// where a message that is not valid JSON is stored as {"invalid": "<text>"}.
/// Invariant: one message per line (JSON whitespace newlines are folded).
class TraceWriter {
 public:
  /// nullptr with `error` set when the directory or file cannot be created.
  static std::unique_ptr<TraceWriter> open(const std::string& dir, std::string& error);
  ~TraceWriter();

  void write(std::string_view direction, std::string_view body);
  const std::string& path() const { return path_; }

 private:
  TraceWriter() = default;
  std::FILE* file_ = nullptr;
  std::string path_;
  long long start_us_ = 0;
};

}  // namespace leanproxy::proxy
