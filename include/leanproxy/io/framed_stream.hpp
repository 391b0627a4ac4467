// Content-Length framed messages over a pair of file descriptors (pipes,
// sockets, a tty): one reader loop, and a write queue so that no two writes
// are ever in flight on the descriptor.
#pragma once

#include <cstddef>
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
    /// More than the queue limit is waiting to be written: the peer stopped
    /// reading. Called once; the stream keeps its queue (the owner decides).
    std::function<void()> on_stalled;
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
  /// Queues `body` as one frame. Dropped (and counted) once writing failed.
  void send(std::string body);
  /// Calls `fn` once everything queued so far has been written (or writing failed).
  void when_flushed(std::function<void()> fn);
  /// Stops reading and writing and closes the descriptors. Handlers are not called afterwards.
  void close();

  std::size_t queued_bytes() const;
  bool write_failed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace leanproxy::io
