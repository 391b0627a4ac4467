// FrameParser: split and coalesced reads, the length cap, garbage recovery.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "leanproxy/framing/frame_parser.hpp"

using leanproxy::framing::encode;
using leanproxy::framing::FrameParser;
using Status = FrameParser::Status;

namespace {
struct Events {
  std::vector<std::string> bodies;
  std::vector<std::string> errors;
};
Events drain(FrameParser& p) {
  Events e;
  for (;;) {
    auto r = p.next();
    if (r.status == Status::need_more) return e;
    if (r.status == Status::frame) e.bodies.push_back(r.body);
    else e.errors.push_back(r.error);
  }
}
Events feed_all(FrameParser& p, const std::string& bytes, std::size_t chunk) {
  Events all;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    p.feed(std::string_view(bytes).substr(i, chunk));
    auto e = drain(p);
    all.bodies.insert(all.bodies.end(), e.bodies.begin(), e.bodies.end());
    all.errors.insert(all.errors.end(), e.errors.begin(), e.errors.end());
  }
  return all;
}
}  // namespace

TEST_CASE("frames survive any split of the byte stream") {
  std::string stream = encode(R"({"a":1})") + encode("{\"text\":\"⊢ ℕ 𝔽\"}") + encode("{}");
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 16u, 1000u}) {
    FrameParser p;
    auto e = feed_all(p, stream, chunk);
    CAPTURE(chunk);
    REQUIRE(e.errors.empty());
    REQUIRE(e.bodies.size() == 3);
    CHECK(e.bodies[0] == R"({"a":1})");
    CHECK(e.bodies[1] == "{\"text\":\"⊢ ℕ 𝔽\"}");
    CHECK(e.bodies[2] == "{}");
    CHECK(p.buffered() == 0);
  }
}

TEST_CASE("large bodies (read straight into the body) survive any split, with frames around them") {
  std::string big(200000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = '\n';
  std::string big2 = big;
  big2[5] = 'y';
  std::string stream = encode("{}") + encode(big) + encode(R"({"a":1})") + encode(big2) + encode(std::string(65536, 'z'));
  for (std::size_t chunk : {1000u, 4096u, 65536u, 70000u, 262144u, 1u << 20}) {
    CAPTURE(chunk);
    FrameParser p;
    auto e = feed_all(p, stream, chunk);
    REQUIRE(e.errors.empty());
    REQUIRE(e.bodies.size() == 5);
    CHECK(e.bodies[0] == "{}");
    CHECK(e.bodies[1] == big);
    CHECK(e.bodies[2] == R"({"a":1})");
    CHECK(e.bodies[3] == big2);
    CHECK(e.bodies[4] == std::string(65536, 'z'));
    CHECK(p.buffered() == 0);
  }
  // Cut short inside a large body: what came is counted as buffered, and
  // handed back whole by take_buffered.
  FrameParser p;
  std::string frame = encode(big);
  std::size_t header = frame.size() - big.size();
  p.feed(std::string_view(frame).substr(0, header + 70000));
  CHECK(drain(p).bodies.empty());
  p.feed(std::string_view(frame).substr(header + 70000, 1000));
  CHECK(drain(p).bodies.empty());
  CHECK(p.buffered() == 71000);
  CHECK(p.take_buffered() == big.substr(0, 71000));
  CHECK(p.buffered() == 0);
  p.feed(encode("{}"));
  auto after = drain(p);
  REQUIRE(after.bodies.size() == 1);
  CHECK(after.bodies[0] == "{}");
}

TEST_CASE("other headers are accepted, in any order and case") {
  FrameParser p;
  p.feed("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}");
  auto e = drain(p);
  REQUIRE(e.bodies.size() == 1);
  CHECK(e.bodies[0] == "{}");
  CHECK(e.errors.empty());
}

TEST_CASE("a zero-length body is a frame") {
  FrameParser p;
  p.feed("Content-Length: 0\r\n\r\nContent-Length: 2\r\n\r\n{}");
  auto e = drain(p);
  REQUIRE(e.bodies.size() == 2);
  CHECK(e.bodies[0].empty());
}

TEST_CASE("lengths over the cap are reported and skipped without buffering") {
  FrameParser p(10);
  std::string big(100, 'x');
  p.feed("Content-Length: 100\r\n\r\n" + big.substr(0, 40));
  auto e = drain(p);
  REQUIRE(e.errors.size() == 1);
  CHECK(e.errors[0].find("exceeds the limit") != std::string::npos);
  CHECK(p.buffered() == 0);
  p.feed(big.substr(40) + encode("{}"));
  e = drain(p);
  REQUIRE(e.bodies.size() == 1);
  CHECK(e.bodies[0] == "{}");
}

TEST_CASE("hostile Content-Length values") {
  for (std::string value : {"-5", "abc", "", "99999999999999999999999", "12abc", "1 2"}) {
    FrameParser p(1000);
    CAPTURE(value);
    p.feed("Content-Length: " + value + "\r\n\r\n" + encode("{\"ok\":1}"));
    auto e = drain(p);
    CHECK(!e.errors.empty());
    REQUIRE(e.bodies.size() == 1);
    CHECK(e.bodies[0] == "{\"ok\":1}");
  }
  FrameParser p;  // a huge but numeric length is skipped, not allocated
  p.feed("Content-Length: 9999999999999999\r\n\r\nabc");
  auto e = drain(p);
  CHECK(e.errors.size() == 1);
  CHECK(p.buffered() == 0);
}

TEST_CASE("garbage between frames is skipped and reported") {
  FrameParser p;
  std::string stream = encode("{}") + "garbage!!\r\n" + encode(R"({"x":2})");
  auto e = feed_all(p, stream, 5);
  REQUIRE(e.bodies.size() == 2);
  CHECK(e.bodies[1] == R"({"x":2})");
  CHECK(!e.errors.empty());
}

TEST_CASE("a header block without Content-Length is dropped") {
  FrameParser p;
  p.feed("Content-Type: x\r\n\r\n" + encode("{}"));
  auto e = drain(p);
  CHECK(e.errors.size() == 1);
  REQUIRE(e.bodies.size() == 1);
}

TEST_CASE("an endless header is capped") {
  FrameParser p;
  p.feed("X-Long: " + std::string(20000, 'a'));
  auto e = drain(p);
  CHECK(e.errors.size() == 1);
  p.feed("\r\n\r\n" + encode("{}"));
  e = drain(p);
  REQUIRE(e.bodies.size() == 1);
}

TEST_CASE("a truncated frame stays buffered") {
  FrameParser p;
  p.feed("Content-Length: 10\r\n\r\n{\"a\":");
  auto e = drain(p);
  CHECK(e.bodies.empty());
  CHECK(p.buffered() == 5);
}

TEST_CASE("LF-only header endings are tolerated") {
  FrameParser p;
  p.feed("Content-Length: 2\n\n{}");
  auto e = drain(p);
  REQUIRE(e.bodies.size() == 1);
}

TEST_CASE("junk glued to a header is handled the same whatever the reads") {
  std::string stream = std::string("\0abcdefghijklmnopqrst", 21) + encode("{}");
  for (std::size_t chunk : {1u, 3u, 1000u}) {
    FrameParser p;
    auto e = feed_all(p, stream, chunk);
    CAPTURE(chunk);
    REQUIRE(e.bodies.size() == 1);
    CHECK(e.bodies[0] == "{}");
  }
  FrameParser p;
  p.feed("debug: x" + encode("{}"));
  auto e = drain(p);
  REQUIRE(e.bodies.size() == 1);
}

TEST_CASE("the canonical header's fast path agrees with the general parser at every split") {
  // Canonical frames, a frame with a second header, a length over the cap
  // and a header in other case, split at every byte.
  std::string stream = encode("{\"a\":1}") + "Content-Length: 2\r\nContent-Type: x\r\n\r\n{}" +
                       "Content-Length: 99\r\n\r\n" + std::string(99, 'x') + "content-length: 2\r\n\r\n[]" + encode("{}");
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    FrameParser p(64);
    auto e = feed_all(p, stream, chunk);
    CAPTURE(chunk);
    REQUIRE(e.bodies.size() == 4);
    CHECK(e.bodies[0] == "{\"a\":1}");
    CHECK(e.bodies[1] == "{}");
    CHECK(e.bodies[2] == "[]");
    CHECK(e.bodies[3] == "{}");
    CHECK(e.errors.size() == 1);  // the 99-byte body over the cap of 64
    CHECK(p.buffered() == 0);
  }
}
