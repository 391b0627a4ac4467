// Content-Length framed messages over a pair of file descriptors (pipes,
// sockets, a tty): one reader loop, and a write queue so that no two writes
// are ever in flight on the descriptor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "leanproxy/io/event_loop.hpp"

namespace leanproxy::io {

/// While one is alive on this thread, FramedStream::send only queues; when
/// the outermost ends, each stream written to leaves in one writev. The read
/// loop holds one over the frames of each read and EventLoop over each posted
/// handler, so what one event produces (a cache hit's progress and
/// diagnostics, a read's forwards) reaches the peer in one write and one
/// wake-up. Per thread: each loop runs on one thread.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;
};

class FramedStream {
 public:
  struct Handlers {
    std::function<void(std::string body)> on_message;
    /// Bad framing that was skipped (the stream goes on).
    std::function<void(const std::string& problem)> on_frame_error;
    /// The read side ended: "eof" for a normal close, else the error. Called once.
    std::function<void(const std::string& reason)> on_closed;
    /// The peer stopped reading: more than the queue limit waits to be
    /// written, or a write made no progress for the stall timeout. Called
    /// once; the stream keeps its queue (the owner decides).
    std::function<void()> on_stalled;
    /// Flow control (set_backlog_marks): true when more than the high mark
    /// waits to be written, false once it drained to the low mark (or writing
    /// failed). The owner pauses the reading that feeds this stream meanwhile.
    std::function<void(bool backlogged)> on_backlog;
  };

  /// Takes ownership of both descriptors (-1 for a side not used); they may
  /// be the same descriptor (a socket). `name` labels log lines.
  FramedStream(EventLoop& loop, int read_fd, int write_fd, std::size_t max_body, std::string name);
  ~FramedStream();
  FramedStream(const FramedStream&) = delete;
  FramedStream& operator=(const FramedStream&) = delete;

  void start(Handlers handlers);
  /// Replaces the handlers of a started stream (a pooled server handed to a
  /// session): messages already parsed but not delivered go to the new ones.
  void set_handlers(Handlers handlers);
  /// Bounds the write queue (0 = unbounded). A single message larger than the
  /// bound is still accepted when nothing else is queued.
  void set_queue_limit(std::size_t bytes);
  /// on_backlog's marks: raised when the bytes or the messages waiting pass
  /// their high mark, lowered once both are at their low marks or below.
  struct BacklogMarks {
    std::size_t high_bytes = SIZE_MAX, low_bytes = SIZE_MAX;
    std::size_t high_frames = SIZE_MAX, low_frames = SIZE_MAX;
  };
  void set_backlog_marks(BacklogMarks marks);
  /// A write that has not moved for this long means the peer stopped reading
  /// (on_stalled). Zero, the default: only the queue limit says so.
  void set_stall_timeout(std::chrono::milliseconds timeout);
  /// Reading stops once the frames already read are delivered, until
  /// resume_reading(); end of input is not seen meanwhile. Both idempotent.
  void pause_reading();
  void resume_reading();
  /// Queues `body` as one frame. Dropped (and counted) once writing failed.
  void send(std::string body);
  /// Calls `fn` once everything queued so far has been written (or writing failed).
  void when_flushed(std::function<void()> fn);
  /// Starts writing what is queued now, even inside a WriteBatch.
  void flush();
  /// Stops reading and writing and closes the descriptors. Handlers are not called afterwards.
  void close();

  std::size_t queued_bytes() const;
  /// Above the high mark and not yet drained to the low one (never once closed).
  bool backlogged() const;
  bool write_failed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace leanproxy::io
