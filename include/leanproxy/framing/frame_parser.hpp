// Incremental `Content-Length` frame parser: bytes in, message bodies out.
// Knows nothing about JSON-RPC and nothing about I/O, so it is fuzzable and
// usable on any stream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace leanproxy::framing {

inline constexpr std::size_t default_max_body = 256u << 20;  // 256 MiB
inline constexpr std::size_t max_header_block = 16u << 10;   // 16 KiB

/// Encodes `body` as one frame ("Content-Length: N\r\n\r\n" + body).
std::string encode(std::string_view body);
/// Appends the header for a body of `n` bytes to `out`.
void append_header(std::string& out, std::size_t n);

/// Parses frames out of a byte stream fed in arbitrary pieces.
///
/// Invariants: bytes are consumed strictly in order; every byte fed ends up in
/// exactly one of {a returned body, a header block, skipped garbage}.
/// Recovery rules (the stream is someone else's and may be broken):
///  - a header block without a valid Content-Length is reported and dropped,
///    and parsing resumes after its blank line;
///  - bytes before a header block that do not start a header (junk between
///    frames) are skipped up to the next "Content-Length" and reported once;
///  - a length above the cap is reported and its body skipped without being
///    buffered, so a hostile length cannot exhaust memory.
class FrameParser {
 public:
  explicit FrameParser(std::size_t max_body = default_max_body) : max_body_(max_body) {}

  enum class Status {
    need_more,  ///< no complete frame buffered; feed more bytes
    frame,      ///< `body` holds one complete message body
    error,      ///< `error` describes bad input that was dropped; call next() again
  };
  struct Result {
    Status status = Status::need_more;
    std::string body;
    /// What was wrong, without any of the stream's bytes: logs below the
    /// trace level never carry document text, and junk may be part of one.
    std::string error;
    /// The offending bytes (printable, at most 60), for trace-level logs only.
    std::string sample;
  };

  /// Appends bytes read from the stream.
  void feed(std::string_view bytes);
  /// Returns the next event; call until it returns need_more.
  Result next();

  /// Bytes buffered but not yet returned (a truncated frame at EOF).
  std::size_t buffered() const { return buf_.size() - pos_ + body_.size(); }
  /// Removes and returns the buffered bytes (after a handshake frame, the
  /// rest of the stream belongs to someone else).
  std::string take_buffered();
  std::size_t max_body() const { return max_body_; }

 private:
  Result parse_header();
  Result frame(std::string body);  ///< a complete body: back to reading headers
  void compact();

  std::string buf_;
  std::size_t pos_ = 0;            // start of unconsumed bytes in buf_
  std::size_t body_len_ = 0;       // valid when in_body_
  bool in_body_ = false;
  /// A large body (≥ 64 KiB) that did not arrive whole is collected here
  /// rather than in buf_: fed bytes go straight into it (one copy, not
  /// two), and it is handed out by move. Non-empty only while collecting.
  std::string body_;
  bool collecting_ = false;
  std::size_t skip_left_ = 0;      // bytes of an oversized body still to discard
  bool resync_ = false;            // junk was skipped: only "Content-Length" starts the next frame
  std::size_t max_body_;
};

}  // namespace leanproxy::framing
