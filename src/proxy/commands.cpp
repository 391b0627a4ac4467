// leanProxy.* commands: stats, cache toggle / clear / explain.
#include "leanproxy/proxy/commands.hpp"

#include <nlohmann/json.hpp>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/interceptor.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::proxy {

using protocol::Message;
namespace ec = protocol::error_code;

namespace {
const char* mode_name(cache::StoreMode m) {
  switch (m) {
    case cache::StoreMode::read_write: return "read-write";
    case cache::StoreMode::read_only: return "read-only";
    case cache::StoreMode::none: return "unavailable";
  }
  return "?";
}

// The first element of `arguments`, if any.
std::optional<std::string_view> first_argument(std::string_view params) {
  auto args = json::member(params, "arguments");
  if (!args || json::type_of(*args) != json::Type::array) return std::nullopt;
  json::ArrayReader r(*args);
  std::string_view v;
  if (r.next(v)) return v;
  return std::nullopt;
}
}  // namespace

const std::vector<std::string>& CommandInterceptor::command_ids() {
  static const std::vector<std::string> ids = {
      "leanProxy.stats",       "leanProxy.cache.stats",          "leanProxy.cache.toggle",
      "leanProxy.cache.clear", "leanProxy.cache.explain",        "leanProxy.environment.optimize",
      "leanProxy.environment.stats"};
  return ids;
}

CommandInterceptor::CommandInterceptor(Interceptor* inner, cache::CacheInterceptor* cache, cache::Backend* backend,
                                       std::function<std::string()> proxy_stats, bool advertise)
    : inner_(inner), cache_(cache), backend_(backend), proxy_stats_(std::move(proxy_stats)), advertise_(advertise) {}

void CommandInterceptor::attach(ProxyPort& port) {
  Interceptor::attach(port);
  if (inner_) inner_->attach(port);
}
void CommandInterceptor::client_initialize(std::string_view p) {
  auto wdp = json::path(p, {"capabilities", "window", "workDoneProgress"});
  work_done_progress_ = wdp && json::to_bool(*wdp).value_or(false);
  if (inner_) inner_->client_initialize(p);
}
bool CommandInterceptor::before_document_notification(const Message& m, const std::string& uri) {
  return inner_ && inner_->before_document_notification(m, uri);
}
void CommandInterceptor::document_notification(const std::string& method, const std::string& uri) {
  if (inner_) inner_->document_notification(method, uri);
}
void CommandInterceptor::client_notification(const Message& m) {
  if (inner_) inner_->client_notification(m);
}
bool CommandInterceptor::server_notification(const Message& m) { return inner_ && inner_->server_notification(m); }
bool CommandInterceptor::server_reply(const Message& m, const std::string& method) {
  if (advertise_ && method == "initialize" && !m.is_error()) {
    // --advertise-commands: add ours to executeCommandProvider (keeping the server's).
    auto j = nlohmann::json::parse(m.raw(), nullptr, false);
    if (j.is_object() && j["result"].is_object()) {
      auto& provider = j["result"]["capabilities"]["executeCommandProvider"];
      if (!provider.is_object()) provider = nlohmann::json::object();
      if (!provider["commands"].is_array()) provider["commands"] = nlohmann::json::array();
      for (const auto& id : command_ids()) provider["commands"].push_back(id);
      port_->to_client(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return true;
    }
  }
  return inner_ && inner_->server_reply(m, method);
}
void CommandInterceptor::server_started(std::uint64_t g) {
  if (inner_) inner_->server_started(g);
}
void CommandInterceptor::server_exited() {
  if (inner_) inner_->server_exited();
}

void CommandInterceptor::reply(const Message& m, std::string result) {
  port_->to_client(protocol::make_result(m.id()->raw(), result));
}
void CommandInterceptor::fail(const Message& m, int code, std::string message) {
  port_->to_client(protocol::make_error(m.id()->raw(), code, message));
}

bool CommandInterceptor::client_request(const Message& m) {
  if (m.method() == "$/leanProxy/check") {
    if (!check_) {
      fail(m, ec::method_not_found, "$/leanProxy/check is not available in this session");
      return true;
    }
    std::string id = m.id()->raw();
    check_(std::string(m.params()), [this, id, alive = std::weak_ptr<bool>(alive_)](bool error, int code,
                                                                                      std::string body) {
      if (alive.expired()) return;  // the session ended meanwhile
      port_->to_client(error ? protocol::make_error(id, code, body) : protocol::make_result(id, body));
    });
    return true;
  }
  if (m.method() != "workspace/executeCommand") return inner_ && inner_->client_request(m);
  auto raw = json::member(m.params(), "command");
  auto command = raw ? json::decode_string(*raw) : std::nullopt;
  if (!command || command->rfind("leanProxy.", 0) != 0) return inner_ && inner_->client_request(m);

  const std::string& c = *command;
  if (c == "leanProxy.stats") {
    stats(m, false);
  } else if (c == "leanProxy.cache.stats") {
    stats(m, true);
  } else if (c == "leanProxy.cache.toggle") {
    auto arg = first_argument(m.params());
    std::optional<bool> on;
    if (arg) on = json::type_of(*arg) == json::Type::boolean ? json::to_bool(*arg)
                                                              : [&]() -> std::optional<bool> {
                                                                  auto e = json::member(*arg, "enabled");
                                                                  return e ? json::to_bool(*e) : std::nullopt;
                                                                }();
    if (!on) {
      fail(m, ec::invalid_params, "leanProxy.cache.toggle expects arguments [{\"enabled\": true | false}]");
    } else if (!cache_) {
      fail(m, ec::invalid_request, "the cache is off for this session (--cache=off, or the server is not Lean)");
    } else {
      cache_->set_enabled(*on);
      log::info(std::string("cache ") + (*on ? "enabled" : "disabled") + " by command");
      reply(m, std::string("{\"enabled\":") + (*on ? "true" : "false") + "}");
    }
  } else if (c == "leanProxy.cache.clear") {
    if (!backend_) {
      fail(m, ec::invalid_request, "the cache is off for this session");
    } else {
      Message copy = m;
      backend_->with_store_reply(
          [](cache::Store& store) {
            std::uint64_t before = store.stats().entries;
            store.clear();
            return "{\"cleared\":" + std::to_string(before) + "}";
          },
          [this, copy](std::string result) { reply(copy, std::move(result)); });
      log::info("cache cleared by command");
    }
  } else if (c == "leanProxy.cache.explain") {
    explain(m, first_argument(m.params()).value_or(std::string_view{}));
  } else if (c == "leanProxy.environment.stats" || c == "leanProxy.environment.optimize") {
    environment(m, c);
  } else {
    std::string known;
    for (auto& id : command_ids()) known += (known.empty() ? "" : ", ") + id;
    fail(m, ec::invalid_params, "unknown command '" + c + "'; lean-lsp-proxy knows " + known);
  }
  return true;
}

void CommandInterceptor::stats(const Message& m, bool cache_only) {
  std::string cache_part = cache_ ? cache_->stats().to_json() : "null";
  std::string enabled = cache_ && cache_->enabled() ? "true" : "false";
  if (!backend_) {
    std::string cache_obj = "{\"enabled\":false,\"mode\":\"off\"}";
    reply(m, cache_only ? cache_obj
                        : "{\"schema\":" + std::to_string(stats_schema) + ",\"cache\":" + cache_obj +
                              ",\"proxy\":" + proxy_stats_() + "}");
    return;
  }
  std::string proxy_part = proxy_stats_();
  Message copy = m;
  std::string mode = mode_name(backend_->mode());
  backend_->with_store_reply(
      [](cache::Store& s) {
        auto st = s.stats();
        return "\"entries\":" + std::to_string(st.entries) + ",\"bytes\":" + std::to_string(st.bytes) +
               ",\"evictions\":" + std::to_string(st.evictions) + ",\"expirations\":" + std::to_string(st.expirations) +
               ",\"bad_values\":" + std::to_string(st.bad_values) + ",\"write_failures\":" +
               std::to_string(st.write_failures);
      },
      [this, copy, cache_part, enabled, mode, proxy_part, cache_only](std::string store_fields) {
        // Merge the interceptor's counters and the store's into one object.
        std::string cache_obj = cache_part.substr(0, cache_part.size() - 1) + ",\"enabled\":" + enabled +
                                ",\"mode\":\"" + mode + "\"," + store_fields + "}";
        if (cache_only) {
          reply(copy, cache_obj);
          return;
        }
        reply(copy, "{\"schema\":" + std::to_string(stats_schema) + ",\"cache\":" + cache_obj +
                        ",\"proxy\":" + proxy_part + "}");
      });
}

// leanProxy.environment.optimize / .stats, args [{root?}]. Optimize reports
// progress as LSP work-done progress when the client supports it (a
// `window/workDoneProgress/create` of the proxy's own, then `$/progress`
// begin / report / end), else as `window/logMessage` lines; the reply is the
// run's result.
void CommandInterceptor::environment(const Message& m, const std::string& c) {
  std::string root;
  if (auto arg = first_argument(m.params())) {
    auto r = json::type_of(*arg) == json::Type::object ? json::member(*arg, "root") : std::nullopt;
    auto decoded = r ? json::decode_string(*r) : std::nullopt;
    if (json::type_of(*arg) != json::Type::object || (r && (!decoded || decoded->empty() || (*decoded)[0] != '/'))) {
      fail(m, ec::invalid_params, c + " expects arguments [] or [{\"root\": \"/path/to/workspace\"}]");
      return;
    }
    if (decoded) root = *decoded;
  }
  if (!environment_) {
    fail(m, ec::invalid_request, c + " is not available in this session (the server is not lake or lean)");
    return;
  }
  std::string id = m.id()->raw();
  std::weak_ptr<bool> alive = alive_;
  if (c == "leanProxy.environment.stats") {
    environment_("stats", root, {}, [this, id, alive](bool error, int code, std::string body) {
      if (alive.expired()) return;
      port_->to_client(error ? protocol::make_error(id, code, body) : protocol::make_result(id, body));
    });
    return;
  }
  bool wdp = work_done_progress_;
  std::string token = "leanProxy/environment/" + std::to_string(next_progress_token_++);
  auto progress_note = [token](nlohmann::json value) {
    return protocol::make_notification("$/progress",
                                       nlohmann::json{{"token", token}, {"value", std::move(value)}}.dump(
                                           -1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  if (wdp) {
    port_->request_client("window/workDoneProgress/create", nlohmann::json{{"token", token}}.dump());
    port_->to_client(progress_note({{"kind", "begin"},
                                    {"title", "Lean environment"},
                                    {"message", "optimizing " + (root.empty() ? std::string("the workspace") : root)},
                                    {"percentage", 0},
                                    {"cancellable", false}}));
  }
  environment_(
      "optimize", root,
      [this, alive, wdp, progress_note](std::string message, std::optional<int> percent) {
        if (alive.expired()) return;
        if (wdp) {
          nlohmann::json v{{"kind", "report"}, {"message", message}};
          if (percent) v["percentage"] = *percent;
          port_->to_client(progress_note(std::move(v)));
        } else {
          port_->to_client(protocol::make_log_message(4, "lean-lsp-proxy: " + message));
        }
      },
      [this, id, alive, wdp, progress_note](bool error, int code, std::string body) {
        if (alive.expired()) return;
        if (wdp) {
          auto r = nlohmann::json::parse(body, nullptr, false);
          bool ok = !error && r.is_object() && r.value("ok", false);
          std::string message = ok ? "environment ready"
                                   : error ? body
                                           : (r.is_object() ? r.value("error", std::string("failed")) : "failed");
          port_->to_client(progress_note({{"kind", "end"}, {"message", message}}));
        }
        port_->to_client(error ? protocol::make_error(id, code, body) : protocol::make_result(id, body));
      });
}

void CommandInterceptor::explain(const Message& m, std::string_view args) {
  std::optional<std::string> uri;
  if (!args.empty()) {
    if (json::type_of(args) == json::Type::string) uri = json::decode_string(args);
    else if (auto u = json::member(args, "uri")) uri = json::decode_string(*u);
  }
  if (!uri) {
    fail(m, ec::invalid_params, "leanProxy.cache.explain expects arguments [{\"uri\": \"file:///…/File.lean\"}]");
    return;
  }
  if (!cache_ || !backend_) {
    fail(m, ec::invalid_request, "the cache is off for this session");
    return;
  }
  std::string now = cache_->explain(*uri);
  Message copy = m;
  std::string u = *uri;
  backend_->with_store_reply([u](cache::Store& s) { return s.get_meta("last-key:" + u).value_or("null"); },
                             [this, copy, now](std::string last) {
                               reply(copy, cache::CacheInterceptor::explain_with_last(now, last));
                             });
}

}  // namespace leanproxy::proxy
