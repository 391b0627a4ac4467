// ServerPool: spares per key — spawn (at low priority), initialize with the
// learnt client params, open a warm-up document, hand over, replace; limits
// (total servers, PSS, idle time) and crash accounting.
#include "leanproxy/pool/server_pool.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/framed_stream.hpp"
#include "leanproxy/lean/header.hpp"
#include "leanproxy/pool/check_service.hpp"
#include "leanproxy/pool/server_connection.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/uri.hpp"
#include "leanproxy/util/proc_tree.hpp"

namespace leanproxy::pool {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr int kSpareNice = 10;  // pre-warming yields the CPU to the editor's own servers
constexpr int kMaxFailures = 3;  // spares of a key that died before being ready, in a row: stop trying

// The environment a Lean server's behaviour depends on: which tools run and
// where they look. Other variables (terminal ids, DISPLAY) differ between
// editor windows and must not split the pool.
bool relevant_env(const std::string& kv) {
  for (const char* prefix : {"PATH=", "HOME=", "LD_LIBRARY_PATH=", "LEAN", "LAKE", "ELAN"})
    if (kv.rfind(prefix, 0) == 0) return true;
  return false;
}

// The workspace configuration a server reads once at start (Lake loads the
// lakefile and manifest; the toolchain file picks Lean): a spare started
// before it changed must not be handed out.
std::string config_digest(const std::string& cwd) {
  std::string all;
  for (const char* f : {"lakefile.lean", "lakefile.toml", "lake-manifest.json", "lean-toolchain"}) {
    std::ifstream in(fs::path(cwd) / f, std::ios::binary);
    all += f;
    all += '\0';
    if (in) all.append(std::istreambuf_iterator<char>(in), {});
    all += '\0';
  }
  return std::to_string(std::hash<std::string>{}(all)) + ":" + std::to_string(all.size());
}

}  // namespace

std::string pool_key(const SpareSpec& spec) {
  json init = json::parse(spec.initialize_params, nullptr, false);
  if (init.is_object())
    for (const char* k : {"processId", "rootUri", "rootPath", "workspaceFolders", "clientInfo", "trace", "locale",
                          "workDoneToken"})
      init.erase(k);
  std::string key = spec.cwd + '\0';
  for (const auto& a : spec.argv) key += a + '\0';
  key += '\0';
  std::vector<std::string> env;
  for (const auto& e : spec.env)
    if (relevant_env(e)) env.push_back(e);
  std::sort(env.begin(), env.end());
  for (const auto& e : env) key += e + '\0';
  key += '\0';
  key += init.dump(-1, ' ', false, json::error_handler_t::replace);  // object keys sorted: canonical
  return key;
}

struct ServerPool::Spare {
  std::uint64_t serial = 0;  ///< callbacks check (pointer, serial): an address can be reused
  std::string key;
  SpareSpec spec;
  std::string config;
  std::unique_ptr<ServerConnection> conn;
  enum class State { starting, warming, ready } state = State::starting;
  std::string init_result;
  std::vector<std::string> registrations;
  std::string warm_uri;
  bool warm_open = false;
  Clock::time_point spawned = Clock::now(), ready_at;
  std::vector<std::function<void(std::unique_ptr<Adopted>)>> waiters;
};

ServerPool::ServerPool(io::EventLoop& loop, PoolLimits limits) : loop_(loop), limits_(limits) {}

ServerPool::~ServerPool() = default;

bool ServerPool::live(const Spare* s, std::uint64_t serial) const {
  return std::any_of(spares_.begin(), spares_.end(), [&](auto& p) { return p.get() == s && p->serial == serial; });
}

// Limits are checked this often: every 30 s, more often for short idle times.
std::chrono::milliseconds ServerPool::sweep_every() const {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(limits_.idle_ttl) / 2;
  return std::clamp<std::chrono::milliseconds>(half, 500ms, 30000ms);
}

int ServerPool::total_servers() const { return active_ + static_cast<int>(spares_.size()); }

bool ServerPool::may_serve(const std::vector<std::string>& argv, const std::string& cwd,
                           const std::vector<std::string>& env) const {
  SpareSpec probe{argv, cwd, env, "{}", 0};
  std::string prefix = pool_key(probe);
  prefix.resize(prefix.size() - 2);  // without the initialize part ("{}")
  for (const auto& s : spares_)
    if (s->key.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

void ServerPool::learn(const SpareSpec& spec) {
  if (limits_.spares_per_key <= 0 || stopping_) return;
  std::string key = pool_key(spec);
  specs_[key] = spec;
  replenish(key);
}

void ServerPool::replenish(const std::string& key) {
  if (stopping_ || spawn_timers_.count(key)) return;
  auto spec = specs_.find(key);
  if (spec == specs_.end()) return;
  int have = static_cast<int>(std::count_if(spares_.begin(), spares_.end(), [&](auto& s) { return s->key == key; }));
  if (have >= limits_.spares_per_key) return;
  // Later, not now: the session that taught us this key is starting its own
  // work, which comes first.
  spawn_timers_[key] = loop_.after(limits_.spawn_delay, [this, key] {
    spawn_timers_.erase(key);
    auto it = specs_.find(key);
    if (it == specs_.end()) return;
    int have = static_cast<int>(std::count_if(spares_.begin(), spares_.end(), [&](auto& s) { return s->key == key; }));
    if (have < limits_.spares_per_key) spawn(key, it->second);
  });
}

void ServerPool::spawn(const std::string& key, const SpareSpec& spec) {
  if (stopping_ || total_servers() >= limits_.max_servers) {
    log::info("pool: not starting a spare (" + std::to_string(total_servers()) + " servers, limit " +
              std::to_string(limits_.max_servers) + ")");
    return;
  }
  auto s = std::make_unique<Spare>();
  Spare* sp = s.get();
  std::uint64_t serial = s->serial = ++serial_;
  s->key = key;
  s->spec = spec;
  s->config = config_digest(spec.cwd);
  s->conn = std::make_unique<ServerConnection>(
      loop_, io::ServerProcess::Spec{spec.argv, spec.cwd, spec.env}, spec.max_message,
      ServerConnection::Handlers{
          {},
          [this, sp](const std::string& why) {
            ++stats_.crashes;
            log::warn("pool: a spare server for " + sp->spec.cwd + " ended: " + why);
            bool was_ready = sp->state == Spare::State::ready;
            std::string key = sp->key, cwd = sp->spec.cwd;
            retire(*sp, nullptr);  // destroys *sp
            if (!was_ready && ++failures_[key] >= kMaxFailures) {
              log::error("pool: spares for " + cwd + " keep failing; not starting more until one gets ready");
              return;
            }
            replenish(key);
          },
          [sp](const protocol::Message& m) {
            if (m.method() == "client/registerCapability") sp->registrations.emplace_back(m.params());
          }});
  try {
    sp->conn->start(spec.initialize_params, [this, sp, serial](bool ok, std::string detail) {
      if (!live(sp, serial)) return;  // retired meanwhile
      if (!ok) {
        log::warn("pool: a spare's initialize failed: " + detail);
        sp->conn->kill();
        return;
      }
      sp->init_result = std::move(detail);
      stats_.last_cold_start_ms = std::chrono::duration<double, std::milli>(Clock::now() - sp->spawned).count();
      sp->state = Spare::State::warming;
      // Takeable from now on: a client waiting for it should not also wait
      // for the warm-up, which only helps (imports built and in the page cache).
      auto waiters = std::move(sp->waiters);
      sp->waiters.clear();
      if (!waiters.empty()) return take_spare(*sp, std::move(waiters.front()));  // one waiter at most
      warm_up(*sp);
    });
    proc::renice_tree(sp->conn->pid(), kSpareNice);
  } catch (const std::exception& e) {
    log::warn(std::string("pool: cannot start a spare: ") + e.what());
    return;
  }
  ++stats_.spawns;
  log::info("pool: starting a spare server for " + spec.cwd + " (pid " + std::to_string(sp->conn->pid()) + ")");
  spares_.push_back(std::move(s));
  if (!sweep_timer_) sweep_timer_ = loop_.after(sweep_every(), [this] { check_limits(); });
}

std::string ServerPool::hottest_header(const std::string& cwd) const {
  auto pin = pinned_.find(cwd);
  if (pin != pinned_.end() && !pin->second.empty()) return pin->second.front();
  auto it = headers_.find(cwd);
  if (it == headers_.end() || it->second.empty()) return {};
  return std::max_element(it->second.begin(), it->second.end(), [](auto& a, auto& b) { return a.second < b.second; })
      ->first;
}

void ServerPool::warm_up(Spare& s) {
  std::string header = hottest_header(s.spec.cwd);
  if (header.empty()) return mark_ready(s);
  // Inside the workspace's library, so Lake gives it the real files' options.
  s.warm_uri = util::file_uri((fs::path(check_document_dir(s.spec.cwd)) / "LeanProxyWarm.lean").string());
  s.warm_open = true;
  s.conn->notify("textDocument/didOpen", "{\"textDocument\":{\"uri\":" + leanproxy::json::quote(s.warm_uri) +
                                             ",\"languageId\":\"lean4\",\"version\":1,\"text\":" +
                                             leanproxy::json::quote(header + "\n") + "}}");
  Spare* sp = &s;
  s.conn->request("textDocument/waitForDiagnostics", "{\"uri\":" + leanproxy::json::quote(s.warm_uri) + ",\"version\":1}",
                  [this, sp, serial = s.serial](const protocol::Message&) {
                    if (live(sp, serial) && sp->state == Spare::State::warming) mark_ready(*sp);
                  });
}

void ServerPool::mark_ready(Spare& s) {
  s.state = Spare::State::ready;
  s.ready_at = Clock::now();
  ++stats_.ready;
  failures_.erase(s.key);
  log::info("pool: spare server for " + s.spec.cwd + " is warm (pid " + std::to_string(s.conn->pid()) + ")");
}

void ServerPool::take(const SpareSpec& spec, std::function<void(std::unique_ptr<Adopted>)> done) {
  std::string key = pool_key(spec);
  std::string config = config_digest(spec.cwd);
  for (auto& s : spares_) {
    if (s->key != key) continue;
    if (s->config != config) {
      ++stats_.retired_config;
      log::info("pool: the workspace configuration changed; retiring a spare for " + spec.cwd);
      retire(*s, "config");
      return take(spec, std::move(done));  // `spares_` changed
    }
    if (s->state == Spare::State::starting) {
      if (!s->waiters.empty()) continue;  // promised to another client already
      s->waiters.push_back(std::move(done));
      return;
    }
    take_spare(*s, std::move(done));
    return;
  }
  ++stats_.attaches_cold;
  loop_.post([done = std::move(done)] { done(nullptr); });
}

void ServerPool::take_spare(Spare& s, std::function<void(std::unique_ptr<Adopted>)> done) {
  auto started = Clock::now();
  if (s.warm_open) {
    // Its worker stops; the session hides the empty publish that follows.
    s.conn->notify("textDocument/didClose", "{\"textDocument\":{\"uri\":" + leanproxy::json::quote(s.warm_uri) + "}}");
  }
  proc::renice_tree(s.conn->pid(), 0);
  auto a = std::make_unique<Adopted>();
  auto released = s.conn->release();
  a->process = std::move(released.process);
  a->stream = std::move(released.stream);
  a->initialize_result = std::move(s.init_result);
  a->registrations = std::move(s.registrations);
  a->hidden_uri = s.warm_uri;
  std::string key = s.key;
  std::string cwd = s.spec.cwd;
  spares_.erase(std::find_if(spares_.begin(), spares_.end(), [&](auto& p) { return p.get() == &s; }));
  ++stats_.attaches_warm;
  stats_.last_warm_attach_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  log::info("pool: a session for " + cwd + " takes a warm server (pid " + std::to_string(a->process->pid()) + ")");
  loop_.post([done = std::move(done), a = std::shared_ptr<Adopted>(std::move(a))]() mutable {
    done(std::make_unique<Adopted>(std::move(*a)));
  });
  replenish(key);
}

void ServerPool::retire(Spare& s, const char* why) {
  for (auto& w : s.waiters) {
    ++stats_.attaches_cold;
    loop_.post([w = std::move(w)] { w(nullptr); });
  }
  s.waiters.clear();
  if (why) log::info(std::string("pool: retiring a spare server for ") + s.spec.cwd + " (" + why + ")");
  auto it = std::find_if(spares_.begin(), spares_.end(), [&](auto& p) { return p.get() == &s; });
  if (it == spares_.end()) return;
  // The connection outlives the spare until its process has ended (its
  // shutdown escalates to SIGKILL by itself).
  ServerConnection* conn = s.conn.get();
  if (conn->alive()) {
    retiring_.push_back(std::move(s.conn));
    conn->set_on_exit([this, conn](const std::string&) {
      std::erase_if(retiring_, [conn](auto& c) { return c.get() == conn; });
    });
    conn->shutdown();
  }
  spares_.erase(it);
}

void ServerPool::check_limits() {
  sweep_timer_.reset();
  auto now = Clock::now();
  std::vector<Spare*> idle, heavy;
  for (auto& s : spares_) {
    if (s->state != Spare::State::ready) continue;
    if (now - s->ready_at > limits_.idle_ttl) idle.push_back(s.get());
    else if (limits_.max_pss_kib && proc::tree_pss_kib(s->conn->pid()) > limits_.max_pss_kib) heavy.push_back(s.get());
  }
  for (auto* s : idle) {
    ++stats_.retired_idle;
    specs_.erase(s->key);  // not replaced: nobody asked for one in a long time
    retire(*s, "idle");
  }
  for (auto* s : heavy) {
    // Not replaced at once: its successor would load the same warm-up and
    // grow the same way; the next session of its key starts one.
    ++stats_.retired_memory;
    retire(*s, "memory limit");
  }
  if (!spares_.empty()) sweep_timer_ = loop_.after(sweep_every(), [this] { check_limits(); });
}

void ServerPool::note_header(const std::string& cwd, const std::string& header_text) {
  if (header_text.empty()) return;
  auto& m = headers_[cwd];
  if (m.size() >= 64 && !m.count(header_text)) return;  // bounded: the hottest are among the first seen
  ++m[header_text];
}

std::string ServerPool::headers_json() const {
  return json(headers_).dump(-1, ' ', false, json::error_handler_t::replace);
}

void ServerPool::load_headers(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  for (auto& [cwd, hs] : j.items()) {
    if (!hs.is_object()) continue;
    for (auto& [header, n] : hs.items())
      if (n.is_number_integer() && n.get<int>() > 0) headers_[cwd][header] += n.get<int>();
  }
}

void ServerPool::pin_headers(const std::string& cwd, const std::vector<std::string>& headers) {
  if (!headers.empty()) pinned_[cwd] = headers;
}

void ServerPool::refresh(const std::string& cwd) {
  std::vector<Spare*> victims;
  for (auto& s : spares_)
    if (cwd.empty() || s->spec.cwd == cwd) victims.push_back(s.get());
  std::vector<std::string> keys;
  for (auto* s : victims) {
    keys.push_back(s->key);
    retire(*s, "refresh");
  }
  for (const auto& k : keys) replenish(k);
}

std::string ServerPool::stats_json() const {
  int starting = 0, warming = 0, ready = 0;
  std::uint64_t pss = 0;
  for (const auto& s : spares_) {
    if (s->state == Spare::State::starting) ++starting;
    else if (s->state == Spare::State::warming) ++warming;
    else ++ready;
    if (s->conn && s->conn->alive()) pss += proc::tree_pss_kib(s->conn->pid());
  }
  std::vector<std::string> warm_headers;
  for (const auto& [cwd, _] : headers_)
    if (auto h = hottest_header(cwd); !h.empty()) warm_headers.push_back(h);
  json j = {{"servers", {{"spare_starting", starting}, {"spare_warming", warming}, {"spare_ready", ready},
                         {"active", active_}}},
            {"warm_headers", warm_headers},
            {"spawns", stats_.spawns},
            {"attaches_warm", stats_.attaches_warm},
            {"attaches_cold", stats_.attaches_cold},
            {"crashes", stats_.crashes},
            {"retired", {{"idle", stats_.retired_idle}, {"memory", stats_.retired_memory},
                         {"config_changed", stats_.retired_config}}},
            {"cold_start_ms", stats_.last_cold_start_ms},
            {"warm_attach_ms", stats_.last_warm_attach_ms},
            {"spare_pss_kib", pss}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void ServerPool::shutdown() {
  stopping_ = true;
  spawn_timers_.clear();
  sweep_timer_.reset();
  while (!spares_.empty()) retire(*spares_.front(), "shutting down");
}

}  // namespace leanproxy::pool
