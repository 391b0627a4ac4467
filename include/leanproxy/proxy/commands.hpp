// `workspace/executeCommand` with `leanProxy.*` commands, answered by the
// proxy and never forwarded (Lean would answer methodNotFound). Wraps the
// next interceptor (the cache) and passes everything else on to it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "leanproxy/proxy/interceptor.hpp"

namespace leanproxy::cache {
class Backend;
class CacheInterceptor;
}  // namespace leanproxy::cache

namespace leanproxy::proxy {

/// Version of the stats JSON schema (documented in the README).
inline constexpr int stats_schema = 1;

class CommandInterceptor final : public Interceptor {
 public:
  /// `cache` and `backend` may be null (cache off). `proxy_stats` returns the
  /// "proxy" object of the stats schema.
  CommandInterceptor(Interceptor* inner, cache::CacheInterceptor* cache, cache::Backend* backend,
                     std::function<std::string()> proxy_stats, bool advertise = false);

  void attach(ProxyPort& port) override;
  void client_initialize(std::string_view params) override;
  bool client_request(const protocol::Message& m) override;
  bool before_document_notification(const protocol::Message& m, const std::string& uri) override;
  void document_notification(const std::string& method, const std::string& uri) override;
  void client_notification(const protocol::Message& m) override;
  bool server_notification(const protocol::Message& m) override;
  bool server_reply(const protocol::Message& m, const std::string& method) override;
  void server_started(std::uint64_t generation) override;
  void server_exited() override;

  /// Runs a `$/leanProxy/check` (params as sent) and calls `done` once with
  /// the reply: a result, or an error code and message.
  using CheckHandler =
      std::function<void(std::string params, std::function<void(bool error, int code, std::string body)> done)>;
  /// Without a handler the request is answered "not available".
  void set_check_handler(CheckHandler handler) { check_ = std::move(handler); }

  /// The environment manager's commands: `op` is "optimize" or "stats",
  /// `root` the workspace (empty: the session's). `progress` may be called
  /// any number of times before `done` (optimize only); `done` once, with the
  /// result JSON or an error.
  using EnvironmentHandler = std::function<void(
      std::string op, std::string root, std::function<void(std::string message, std::optional<int> percent)> progress,
      std::function<void(bool error, int code, std::string body)> done)>;
  /// Without a handler the environment commands are answered "not available".
  void set_environment_handler(EnvironmentHandler handler) { environment_ = std::move(handler); }

  /// The command ids answered here.
  static const std::vector<std::string>& command_ids();

 private:
  void reply(const protocol::Message& m, std::string result);
  void fail(const protocol::Message& m, int code, std::string message);
  void stats(const protocol::Message& m, bool cache_only);
  void explain(const protocol::Message& m, std::string_view args);
  void environment(const protocol::Message& m, const std::string& command);

  Interceptor* inner_;
  cache::CacheInterceptor* cache_;
  cache::Backend* backend_;
  std::function<std::string()> proxy_stats_;
  bool advertise_;
  CheckHandler check_;
  EnvironmentHandler environment_;
  bool work_done_progress_ = false;  ///< the client's capabilities.window.workDoneProgress
  std::uint64_t next_progress_token_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< for replies that outlive us
};

}  // namespace leanproxy::proxy
