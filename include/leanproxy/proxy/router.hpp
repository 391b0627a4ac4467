// The routing core of one editor session: what to do with each message from
// the client and from the server, what to replay after a server crash. No I/O:
// the shell (io/session) feeds it messages and carries out its sends, so every
// rule here is unit-tested with a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "leanproxy/document/store.hpp"
#include "leanproxy/protocol/id_table.hpp"
#include "leanproxy/protocol/message.hpp"
#include "leanproxy/proxy/interceptor.hpp"

namespace leanproxy::proxy {

/// Where the router's output goes. Bodies are JSON texts, not frames.
class RouterIo {
 public:
  virtual ~RouterIo() = default;
  virtual void send_to_client(std::string body) = 0;
  virtual void send_to_server(std::string body) = 0;
  virtual void flush_client() {}  ///< see ProxyPort::flush_client
  /// Runs `fn` on the loop after `delay` (at most one pending: a new call
  /// replaces it). Without a loop (tests, the relay): at once.
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) {
    (void)delay;
    fn();
  }
};

struct RouterStats {
  std::uint64_t client_messages = 0, server_messages = 0;
  std::uint64_t client_bytes = 0, server_bytes = 0;
  std::uint64_t server_restarts = 0;
};

/// Invariants:
///  - every client request gets exactly one reply: the server's, or an error
///    from the proxy when the server died before answering;
///  - replies to the proxy's own requests (ids "llp:N") are consumed, never
///    forwarded; server requests are forwarded with their own id while the
///    first server lives and with a generation tag after a restart, so a late
///    reply to a dead server's request can never reach its successor;
///  - while the server is down or being re-initialised, client messages are
///    queued in order; document notifications are applied to the store
///    instead, since the replay re-opens every document with its current text
///    (for the same reason a crash drops the document notifications and holds
///    still queued for the dead server);
///  - nothing overtakes a hold: the server gets messages in the order the
///    client sent them, a held message in its own place.
class Router final : public ProxyPort {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Phase {
    starting,    ///< no server yet (or restarting): queue
    replaying,   ///< own initialize sent to a restarted server: queue
    running,     ///< forward
  };

  struct RestartPolicy {
    int max_restarts = 5;
    std::chrono::milliseconds window{60000};
  };

  Router(RouterIo& io, RestartPolicy policy, Interceptor* interceptor = nullptr)
      : io_(io), policy_(policy), interceptor_(interceptor) {
    if (interceptor_) interceptor_->attach(*this);
  }

  void from_client(protocol::Message m);
  /// The server about to start was initialized by the warm pool: the
  /// client's `initialize` is answered with `result` (through the
  /// interceptors, as a server reply would be), its `initialized` is not
  /// forwarded, and `registrations` (`client/registerCapability` params the
  /// server sent the pool) are replayed to the client as requests of the
  /// proxy's own, whose replies are consumed.
  void adopt(std::string initialize_result, std::vector<std::string> registrations);
  void from_server(protocol::Message m);

  /// The shell started a server process (first or restart).
  void server_started();
  /// The server process ended. Returns true when a restart should follow
  /// (a crash within the restart budget); false when the session is over
  /// (the client asked to exit) or the budget is spent (the client was told).
  bool server_exited(const std::string& why, Clock::time_point now = Clock::now());

  /// The client closed its side without `exit`: shut the server down politely
  /// (own `shutdown` request, then `exit`).
  void client_closed();

  bool exit_received() const { return exit_received_; }
  bool shutdown_received() const { return shutdown_received_; }
  /// The server acknowledged our own shutdown (after client_closed()).
  bool server_shut_down() const { return own_shutdown_done_; }
  Phase phase() const { return phase_; }
  std::uint64_t generation() const { return generation_; }
  std::size_t pending_requests() const { return pending_.size(); }
  // ProxyPort
  void to_client(std::string body) override { io_.send_to_client(std::move(body)); }
  void flush_client() override { io_.flush_client(); }
  void request_server(std::string_view method, std::string_view params,
                      std::function<void(const protocol::Message&)> on_reply) override;
  const document::DocumentStore& documents() const override { return docs_; }
  void request_client(std::string_view method, std::string_view params) override;
  void forward_request(protocol::Message m) override;
  void notify_server(std::string_view method, std::string_view params) override;
  void pause_server() override { ++paused_; }
  void resume_server() override;
  void resume_server_soon() override;
  std::uint64_t hold_server() override;
  void release_hold(std::uint64_t hold, std::vector<std::string> bodies) override;
  const RouterStats& stats() const { return stats_; }
  /// Backoff before restart number `n` (1-based): 0, 100 ms, 200 ms, 400 ms … 5 s.
  static std::chrono::milliseconds backoff(int n);
  int recent_crashes() const { return static_cast<int>(crash_times_.size()); }

 private:
  void end_resume_soon();  ///< the resumes resume_server_soon() owes, now (and what they held goes out)
  struct Pending {
    protocol::Id id;
    std::string method;
    std::string raw;  ///< kept for `initialize`, which is re-sent after a crash
  };
  struct ServerRequest {
    protocol::Id original;
    std::uint64_t generation;
  };
  /// A message bound for the server that waits (server down, paused or held).
  struct Outgoing {
    std::string body;        ///< empty: nothing to send (a released hold)
    std::uint64_t hold = 0;  ///< non-zero: held for the interceptor; blocks what follows
    bool document = false;   ///< a document notification: the replay after a crash supersedes it
  };

  void to_server(std::string body, bool document = false);
  void flush_queue();
  /// Applies a didOpen / didChange / didClose to the store; the document's uri
  /// (empty when the params name none).
  std::string apply_document(const protocol::Message& m);
  void forward_server_request(const protocol::Message& m);
  void finish_replay();
  protocol::Id next_own_id();

  RouterIo& io_;
  RestartPolicy policy_;
  Phase phase_ = Phase::starting;
  std::uint64_t generation_ = 0;
  document::DocumentStore docs_;

  std::optional<std::string> initialize_raw_;  ///< the client's initialize, as sent
  bool initialize_answered_ = false;
  bool initialized_received_ = false;
  bool shutdown_received_ = false;
  bool exit_received_ = false;
  bool own_shutdown_sent_ = false;
  bool own_shutdown_done_ = false;

  protocol::IdTable<Pending> pending_;  ///< client requests, by the id the server sees
  std::unordered_map<std::string, ServerRequest> server_pending_;  ///< by the id the client saw
  std::set<std::string> stale_server_requests_;                ///< of dead servers
  /// Replies awaited for the proxy's own requests, by id key.
  std::unordered_map<std::string, std::function<void(const protocol::Message&)>> own_pending_;
  Interceptor* interceptor_;
  std::set<std::string> registrations_;  ///< registration ids the client holds
  std::optional<std::string> adopted_result_;         ///< set by adopt(): answer initialize with it
  std::vector<std::string> adopted_registrations_;    ///< replayed after the client's `initialized`
  std::set<std::string> own_client_requests_;         ///< ids of our requests to the client, by key
  std::deque<Outgoing> queue_;           ///< client → server while not running, paused or held
  int paused_ = 0;                       ///< outstanding pause_server() calls
  int resume_soon_ = 0;                  ///< of those, the ones resume_server_soon() ends
  std::deque<Clock::time_point> crash_times_;
  std::uint64_t next_own_ = 1;
  std::uint64_t next_hold_ = 0;
  RouterStats stats_;
};

}  // namespace leanproxy::proxy
