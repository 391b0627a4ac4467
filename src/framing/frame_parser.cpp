// Content-Length frame parsing with resynchronisation on bad input.
#include "leanproxy/framing/frame_parser.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace leanproxy::framing {
namespace {

constexpr std::string_view kContentLength = "content-length";

// ASCII only, inline: header names are ASCII, and the libc calls (locale
// lookups through the PLT) were a visible share of relaying small messages.
inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
inline bool alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != b[i]) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Finds "Content-Length" case-insensitively; returns npos if absent.
std::size_t find_content_length(std::string_view s) {
  for (std::size_t i = 0; i + kContentLength.size() <= s.size(); ++i) {
    if ((s[i] | 0x20) == 'c' && iequals(s.substr(i, kContentLength.size()), kContentLength)) return i;
  }
  return std::string_view::npos;
}

std::string printable(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) out.push_back(c);
    else if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else out += '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

void append_header(std::string& out, std::size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;  // no temporary string
  out.append("Content-Length: ").append(digits, end).append("\r\n\r\n");
}

std::string encode(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 32);
  append_header(out, body.size());
  out.append(body);
  return out;
}

void FrameParser::feed(std::string_view bytes) {
  if (skip_left_ > 0) {  // discarding an oversized body: never buffer it
    std::size_t n = std::min(skip_left_, bytes.size());
    skip_left_ -= n;
    bytes.remove_prefix(n);
  }
  if (collecting_) {
    std::size_t n = std::min(bytes.size(), body_len_ - body_.size());
    body_.append(bytes.data(), n);
    bytes.remove_prefix(n);
    if (bytes.empty()) return;
  }
  compact();
  buf_.append(bytes);
}

std::string FrameParser::take_buffered() {
  std::string rest = std::move(body_) + buf_.substr(pos_);
  body_.clear();
  collecting_ = false;
  buf_.clear();
  pos_ = 0;
  in_body_ = false;
  return rest;
}

void FrameParser::compact() {
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > (64u << 10))) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

FrameParser::Result FrameParser::frame(std::string body) {
  in_body_ = false;
  resync_ = false;
  Result r;
  r.status = Status::frame;
  r.body = std::move(body);
  return r;
}

FrameParser::Result FrameParser::next() {
  if (skip_left_ > 0) return {};
  if (collecting_) {
    if (body_.size() < body_len_) return {};
    collecting_ = false;
    return frame(std::exchange(body_, {}));
  }
  if (in_body_) {
    std::size_t have = buf_.size() - pos_;
    if (have < body_len_) {
      if (body_len_ >= (64u << 10)) {  // the rest is fed straight into the body
        body_.reserve(body_len_);
        body_.assign(buf_, pos_, have);
        pos_ += have;
        compact();
        collecting_ = true;
      }
      return {};
    }
    std::string body(buf_, pos_, body_len_);
    pos_ += body_len_;
    compact();
    return frame(std::move(body));
  }
  return parse_header();
}

FrameParser::Result FrameParser::parse_header() {
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  if (rest.empty()) return {};

  // The common case, as every LSP peer writes it: "Content-Length: N\r\n\r\n"
  // with nothing before it and no other header. The general path below
  // reads it the same way; anything else (other headers, junk, a length
  // that is bad or over the cap) goes there.
  constexpr std::string_view kCanonical = "Content-Length: ";
  if (!resync_ && rest.size() > kCanonical.size() && rest.substr(0, kCanonical.size()) == kCanonical) {
    const char* digits = rest.data() + kCanonical.size();
    const char* end = rest.data() + rest.size();
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(digits, end, v);
    if (ec == std::errc() && p != digits && end - p >= 4 && std::string_view(p, 4) == "\r\n\r\n" && v <= max_body_) {
      pos_ += static_cast<std::size_t>(p + 4 - rest.data());
      body_len_ = static_cast<std::size_t>(v);
      in_body_ = true;
      return next();
    }
  }

  // Junk before a header: anything that does not begin with a header name
  // character. Skip to the next "Content-Length" (or keep a tail that might be
  // the start of one).
  std::size_t start = 0;
  while (start < rest.size() && (rest[start] == '\r' || rest[start] == '\n')) ++start;
  if (start < rest.size()) {
    std::string_view r = rest.substr(start);
    std::size_t cl = find_content_length(r);
    std::size_t eol = r.find('\n');
    auto skip_junk = [&](std::size_t n, const char* where) {
      resync_ = true;
      Result e;
      e.status = Status::error;
      e.error = "skipped " + std::to_string(n) + " bytes of garbage " + where;
      e.sample = printable(r.substr(0, n));
      pos_ += start + n;
      compact();
      return e;
    };
    // "Content-Length" later on the first line: what precedes it is junk,
    // however the bytes were split into reads.
    if (cl != std::string_view::npos && cl > 0 && (eol == std::string_view::npos || cl < eol))
      return skip_junk(cl, "before a frame header");
    // Other headers (Content-Type) may come first: accept any "Name:" line.
    auto name_char = [](char c) { return alnum(c) || c == '-' || c == '_'; };
    std::size_t colon = r.find(':');
    bool looks_like_header = colon != std::string_view::npos && colon > 0 &&
                             (eol == std::string_view::npos || colon < eol) &&
                             std::all_of(r.begin(), r.begin() + colon, name_char);
    // A header name still arriving (no ':' or newline yet) may become a header.
    std::size_t name_run = 0;
    while (name_run < r.size() && name_char(r[name_run])) ++name_run;
    if (name_run == r.size() && r.size() <= max_header_block) {
      pos_ += start;
      return {};
    }
    // After junk, only "Content-Length" itself starts a frame: junk may well
    // contain "name: value" text, and taking it for a header would make the
    // outcome depend on where reads happened to split the stream.
    if (cl != 0 && (!looks_like_header || resync_)) {
      if (cl != std::string_view::npos) return skip_junk(cl, "before a frame header");
      // Keep only a tail that could still become "Content-Length".
      std::size_t keep = 0;
      for (std::size_t k = std::min(r.size(), kContentLength.size() - 1); k > 0; --k)
        if (iequals(r.substr(r.size() - k), kContentLength.substr(0, k))) {
          keep = k;
          break;
        }
      std::size_t drop = r.size() - keep;
      if (drop == 0) {
        pos_ += start;
        return {};
      }
      return skip_junk(drop, "between frames");
    }
  } else {
    pos_ += start;
    compact();
    return {};
  }

  // Find the end of the header block. LSP says "\r\n\r\n"; accept "\n\n" too.
  std::size_t end = std::string_view::npos, body_start = 0;
  for (std::size_t i = start; i < rest.size(); ++i) {
    if (rest[i] != '\n') continue;
    if (i + 1 < rest.size() && rest[i + 1] == '\n') { end = i; body_start = i + 2; break; }
    if (i + 2 < rest.size() && rest[i + 1] == '\r' && rest[i + 2] == '\n') { end = i; body_start = i + 3; break; }
  }
  if (end == std::string_view::npos) {
    if (rest.size() - start > max_header_block) {
      Result e;
      e.status = Status::error;
      e.error = "frame header longer than " + std::to_string(max_header_block) + " bytes; dropped";
      pos_ += rest.size();
      compact();
      return e;
    }
    return {};
  }

  std::string_view block = rest.substr(start, end - start);
  pos_ += body_start;

  bool have_length = false;
  std::string bad, sample;
  unsigned long long length = 0;
  while (!block.empty()) {
    std::size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
    line = trim(line);
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      bad = "header line without ':'";
      sample = printable(line);
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (!iequals(name, kContentLength)) continue;  // Content-Type and friends
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
      bad = "invalid Content-Length";
      sample = printable(value);
      have_length = false;
      break;
    }
    length = v;
    have_length = true;
  }

  if (!have_length) {
    Result e;
    e.status = Status::error;
    e.error = bad.empty() ? "frame header without Content-Length; dropped" : bad + "; header dropped";
    e.sample = std::move(sample);
    compact();
    return e;
  }
  if (length > max_body_) {
    Result e;
    e.status = Status::error;
    e.error = "message of " + std::to_string(length) + " bytes exceeds the limit of " +
              std::to_string(max_body_) + " bytes (--max-message-size); skipped";
    std::size_t avail = buf_.size() - pos_;
    if (length <= avail) {
      pos_ += length;
    } else {
      skip_left_ = length - avail;
      pos_ = buf_.size();
    }
    compact();
    return e;
  }
  body_len_ = static_cast<std::size_t>(length);
  in_body_ = true;
  return next();
}

}  // namespace leanproxy::framing
