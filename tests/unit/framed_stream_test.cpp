// FramedStream's flow control over a real pipe: backlog marks raised and
// lowered, reading paused and resumed without loss or reordering, and a write
// that stops moving reported as stalled after the stall timeout.
#include <doctest/doctest.h>

#include <chrono>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"

using namespace leanproxy;
using namespace std::chrono_literals;

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  // The test's own reads of `r` must not block the loop.
  void nonblocking_reads() { ::fcntl(r, F_SETFL, ::fcntl(r, F_GETFL) | O_NONBLOCK); }
};

std::string body(int i, std::size_t size) {
  std::string b = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
  b.append(size, 'x');
  return b + "\"}";
}

// Runs the loop until `done` or `limit` passes; true if done.
bool run_until(io::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool ok = false;
  std::function<void()> poll;
  std::unique_ptr<io::EventLoop::Timer> tick;
  poll = [&] {
    if (done()) ok = true;
    if (ok || std::chrono::steady_clock::now() > deadline) {
      loop.stop();
      return;
    }
    tick = loop.after(5ms, poll);
  };
  loop.post(poll);
  loop.run();
  return ok;
}

// A writer into a pipe, counting the stalls it reports.
struct StallWatch {
  io::EventLoop loop;
  Pipe p;
  io::FramedStream writer{loop, -1, p.w, 1u << 20, "writer"};
  int stalled = 0;
  explicit StallWatch(std::chrono::milliseconds timeout) {
    io::FramedStream::Handlers wh;
    wh.on_stalled = [this] { ++stalled; };
    writer.start(wh);
    writer.set_stall_timeout(timeout);
  }
  ~StallWatch() { ::close(p.r); }
};

}  // namespace

TEST_CASE("flow control: a paused reader backlogs the writer, resuming drains it in order") {
  io::EventLoop loop;
  Pipe p;
  io::FramedStream writer(loop, -1, p.w, 1u << 20, "writer");
  io::FramedStream reader(loop, p.r, -1, 1u << 20, "reader");
  std::vector<bool> marks;
  io::FramedStream::Handlers wh;
  wh.on_backlog = [&](bool on) { marks.push_back(on); };
  writer.start(wh);
  writer.set_backlog_marks({256u << 10, 64u << 10});

  std::vector<std::string> got;
  io::FramedStream::Handlers rh;
  rh.on_message = [&](std::string b) { got.push_back(std::move(b)); };
  reader.pause_reading();
  reader.pause_reading();  // idempotent
  reader.start(rh);

  const int n = 200;  // 200 x 4 KB: 800 KB, well past the high mark and the pipe's 256 KB
  for (int i = 0; i < n; ++i) writer.send(body(i, 4096));
  // Let the pipe fill and the paused reader park.
  run_until(loop, [] { return false; }, 200ms);
  CHECK(writer.backlogged());
  REQUIRE(marks == std::vector<bool>{true});
  std::size_t while_paused = got.size();
  CHECK(while_paused < static_cast<std::size_t>(n) / 2);  // at most one read's worth was delivered

  reader.resume_reading();
  reader.resume_reading();
  REQUIRE(run_until(loop, [&] { return got.size() == static_cast<std::size_t>(n); }, 10s));
  for (int i = 0; i < n; ++i) REQUIRE(got[static_cast<std::size_t>(i)] == body(i, 4096));
  CHECK_FALSE(writer.backlogged());
  CHECK(marks == std::vector<bool>{true, false});
  CHECK(writer.queued_bytes() == 0);
}

TEST_CASE("flow control: many small messages backlog by count before their bytes do") {
  io::EventLoop loop;
  Pipe p;
  io::FramedStream writer(loop, -1, p.w, 1u << 20, "writer");
  std::vector<bool> marks;
  io::FramedStream::Handlers wh;
  wh.on_backlog = [&](bool on) { marks.push_back(on); };
  writer.start(wh);
  writer.set_backlog_marks({1u << 30, 1u << 30, 100, 10});
  p.nonblocking_reads();
  // Nobody reads: the pipe takes some, the rest queues.
  for (int i = 0; i < 5000 && marks.empty(); ++i) writer.send(body(i, 16));
  REQUIRE(marks == std::vector<bool>{true});
  CHECK(writer.backlogged());
  CHECK(writer.queued_bytes() < (1u << 20));
  // Drained: lowered once.
  std::vector<char> buf(1u << 16);
  REQUIRE(run_until(loop, [&] {
    while (::read(p.r, buf.data(), buf.size()) > 0) {}
    return !writer.backlogged();
  }, 10s));
  CHECK(marks == std::vector<bool>{true, false});
  ::close(p.r);
}

TEST_CASE("flow control: a write that does not move for the stall timeout is a stalled peer") {
  StallWatch w(100ms);
  auto& [loop, p, writer, stalled] = w;
  writer.send(body(0, 1u << 20));  // four times the (widened) pipe: the write cannot finish
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_until(loop, [&] { return stalled > 0; }, 10s));
  CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
  // Reported once, the queue kept for the owner to decide.
  run_until(loop, [] { return false; }, 300ms);
  CHECK(stalled == 1);
  CHECK(writer.queued_bytes() > 0);
}

TEST_CASE("flow control: a peer that reads, however slowly, is not stalled") {
  // Generous against a loaded machine: the reader takes 16 KB every 20 ms.
  StallWatch w(1000ms);
  auto& [loop, p, writer, stalled] = w;
  p.nonblocking_reads();
  writer.send(body(0, 1u << 20));
  std::size_t drained = 0;
  std::vector<char> buf(16u << 10);
  std::function<void()> sip;
  std::unique_ptr<io::EventLoop::Timer> t;
  sip = [&] {
    ssize_t k = ::read(p.r, buf.data(), buf.size());
    if (k > 0) drained += static_cast<std::size_t>(k);
    t = loop.after(20ms, sip);
  };
  loop.post(sip);
  REQUIRE(run_until(loop, [&] { return writer.queued_bytes() == 0; }, 30s));
  CHECK(stalled == 0);
  CHECK(drained > (1u << 20) - (256u << 10));  // the rest may still be in the pipe
}
