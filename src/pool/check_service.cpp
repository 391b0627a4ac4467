// CheckService: per-workspace check servers, warm documents, the cache in
// front, deadlines (cancel, then kill the worker and re-warm).
#include "leanproxy/pool/check_service.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "leanproxy/cache/backend.hpp"
#include "leanproxy/cache/diagnostic_kinds.hpp"
#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/lean/header.hpp"
#include "leanproxy/pool/check_request.hpp"
#include "leanproxy/pool/sandbox.hpp"
#include "leanproxy/pool/server_connection.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/uri.hpp"

namespace leanproxy::pool {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using protocol::Message;
using Clock = std::chrono::steady_clock;

namespace {

// After a deadline: how long the worker gets to drop the check once it is
// given its header alone (Lean cancels an older version's elaboration), before
// it is killed. A `#eval` loop ignores cancellation; a normal proof does not.
constexpr auto kYieldGrace = 2000ms;
constexpr int kMaxCrashes = 3;  // server exits within kCrashWindow before queued checks fail
constexpr auto kCrashWindow = 60s;

std::string quote(std::string_view s) { return json::quote(s); }


}  // namespace

namespace {

// The library names a lakefile declares, in order: `[[lean_lib]] name = "X"`
// and `defaultTargets = ["X"]` (TOML), `lean_lib X` / `lean_lib «X»` (Lean).
std::vector<std::string> lakefile_libraries(const std::string& toml, const std::string& lean) {
  std::vector<std::string> names;
  auto quoted_after = [](const std::string& text, std::size_t from) -> std::string {
    std::size_t a = text.find('"', from);
    std::size_t b = a == std::string::npos ? a : text.find('"', a + 1);
    return b == std::string::npos ? std::string() : text.substr(a + 1, b - a - 1);
  };
  for (std::size_t at = toml.find("[[lean_lib]]"); at != std::string::npos; at = toml.find("[[lean_lib]]", at + 1)) {
    std::size_t name = toml.find("name", at), next = toml.find("[[", at + 12);
    if (name != std::string::npos && name < next) names.push_back(quoted_after(toml, name));
  }
  if (std::size_t d = toml.find("defaultTargets"); d != std::string::npos) names.push_back(quoted_after(toml, d));
  for (std::size_t at = lean.find("lean_lib"); at != std::string::npos; at = lean.find("lean_lib", at + 8)) {
    std::size_t i = at + 8;
    while (i < lean.size() && (lean[i] == ' ' || lean[i] == '\t')) ++i;
    std::string name;
    if (lean.compare(i, 2, "«") == 0) {
      std::size_t end = lean.find("»", i);
      if (end != std::string::npos) name = lean.substr(i + 2, end - i - 2);
    } else {
      while (i < lean.size() && (std::isalnum(static_cast<unsigned char>(lean[i])) || lean[i] == '_' || lean[i] == '.'))
        name.push_back(lean[i++]);
    }
    names.push_back(name);
  }
  std::erase(names, std::string());
  return names;
}

}  // namespace

std::string check_document_dir(const std::string& root) {
  // The first library named by the lakefile whose directory exists.
  auto read = [](const fs::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  for (const auto& n : lakefile_libraries(read(fs::path(root) / "lakefile.toml"), read(fs::path(root) / "lakefile.lean"))) {
    fs::path dir = fs::path(root) / lean::module_to_path(n);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return dir.string();
  }
  return root;
}

std::string CheckStats::to_json() const {
  nlohmann::json j = {{"checks", checks},       {"cached", cached},         {"ran", ran},
                      {"ok", ok},               {"timeouts", timeouts},     {"workers_killed", killed},
                      {"failed", failed},       {"header_reuse", header_reuse}, {"header_loads", header_loads},
                      {"server_starts", server_starts}, {"server_exits", server_exits}, {"queued_max", queued_max}};
  return j.dump();
}

namespace {

struct Job {
  CheckRequest req;
  std::string header;  ///< lean::Header::signature of the text
  std::function<void(CheckReply)> done;
  Clock::time_point start = Clock::now();
  std::optional<cache::DocAnswer> answer;  ///< the cache's view (null without a cache)
  long long timeout_ms = 0;
  bool warmup = false;  ///< a private warm-up (no reply, no cache)
};

struct Doc {
  int slot = 0;
  std::string uri;
  std::string header;         ///< the header its worker loaded
  std::string worker_deps;    ///< the dependency fingerprint when its worker started
  std::int64_t version = 0;
  bool open = false;          ///< didOpen sent, no didClose since
  bool busy = false;          ///< a check (or a recovery) runs on it
  std::uint64_t run = 0;      ///< bumped per check: late replies of older runs are ignored
  std::shared_ptr<Job> job;
  // The current version's reporting.
  std::string last_set = "[]";
  bool fatal = false, stale_note = false, build_output = false;
  std::int64_t wait_id = -1;
  std::unique_ptr<io::EventLoop::Timer> timer;
  Clock::time_point last_used;
};

}  // namespace

struct CheckService::Workspace {
  CheckService& service;
  CheckTarget target;
  std::string dir;  ///< where its documents live
  std::string canonical_uri;
  std::unique_ptr<cache::Backend> backend;  ///< keys and import fingerprints (always), the cache (if caching)
  bool caching = false;
  std::unique_ptr<ServerConnection> server;
  bool ready = false, starting = false;  ///< starting: the sandbox probe or initialize is under way
  std::optional<SandboxCommand> sandboxed;  ///< the probe's answer for the start it was made for
  std::vector<std::unique_ptr<Doc>> docs;
  std::deque<std::shared_ptr<Job>> queue;
  std::deque<Clock::time_point> exits;
  std::shared_ptr<bool> token = std::make_shared<bool>(true);

  Workspace(CheckService& s, CheckTarget t) : service(s), target(std::move(t)) {
    dir = check_document_dir(target.cwd);
    // The key of a check names one path for every slot: the documents are
    // interchangeable copies of one anonymous module (README: agent checks).
    canonical_uri = util::file_uri((fs::path(dir) / "LeanProxyCheck.lean").string());
    // Without a cache the backend still fingerprints imports (a null store):
    // a warm document must be restarted when its imports are rebuilt.
    caching = service.store_ && target.use_cache;
    std::shared_ptr<cache::Store> store = caching ? service.store_ : std::shared_ptr<cache::Store>(cache::make_null_store());
    backend = std::make_unique<cache::Backend>(store, [&loop = s.loop_, alive = std::weak_ptr<bool>(token)](
                                                          std::function<void()> fn) {
      loop.post([fn = std::move(fn), alive] {
        if (!alive.expired()) fn();
      });
    });
    // The check client's capabilities: none of Lean's optional forms.
    // The unwrapped argv: the toolchain is identified from the server command
    // itself (`lean --version` next to `lake`), not from bwrap. The sandbox is
    // part of the key instead: an `#eval` that writes a file or opens a socket
    // checks differently inside it.
    backend->refresh_identity({target.argv, target.cwd,
                               std::string("silent=0 incremental=0 widgets=0") + (target.sandbox ? " sandbox=1" : "")});
  }

  ~Workspace() {
    token.reset();
    for (auto& d : docs) d->timer.reset();
  }

  // --- submitting -----------------------------------------------------------

  void submit(std::shared_ptr<Job> job) {
    ++service.stats_.checks;
    cache::DocQuery q{canonical_uri, 0, job->req.text, "always", caching && service.cache_enabled_};
    backend->query(std::move(q), [this, job](cache::DocAnswer a) {
      job->answer = std::move(a);
      const auto& ans = *job->answer;
      bool hit = caching && service.cache_enabled_ && ans.cacheable && ans.diagnostics;
      if (!hit) return enqueue(job);
      cached_goals(job, 0, nlohmann::json::array());
    });
  }

  // On a hit: the goals from the cache too, else the check runs after all.
  void cached_goals(std::shared_ptr<Job> job, std::size_t i, nlohmann::json goals) {
    if (i == job->req.positions.size()) {
      CheckOutcome o;
      o.diagnostics = *job->answer->diagnostics;
      o.goals = goals.dump();
      o.cached = true;
      ++service.stats_.cached;
      return finish(*job, o);
    }
    auto [line, ch] = job->req.positions[i];
    backend->get_answer(job->answer->key.digest, "$/lean/plainGoal", std::to_string(line) + ":" + std::to_string(ch),
                        [this, job, i, goals](std::optional<std::string> r) mutable {
                          if (!r) return enqueue(job);
                          goals.push_back(nlohmann::json::parse(*r, nullptr, false));
                          cached_goals(job, i + 1, std::move(goals));
                        });
  }

  void enqueue(std::shared_ptr<Job> job) {
    queue.push_back(std::move(job));
    service.stats_.queued_max = std::max<std::uint64_t>(service.stats_.queued_max, queue.size());
    schedule();
  }

  void finish(Job& job, CheckOutcome o) {
    if (job.warmup) return;
    o.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - job.start).count();
    bool ok = false;
    std::string result = check_result_json(o, job.req, &ok);
    if (ok) ++service.stats_.ok;
    auto done = std::move(job.done);
    job.done = nullptr;
    if (done) done({false, 0, std::move(result)});
  }

  void fail(Job& job, const std::string& why) {
    ++service.stats_.failed;
    CheckOutcome o;
    o.failure = why;
    finish(job, o);
  }

  // Fails every queued check (a reply may queue a new one: not this round's).
  void fail_queue(const std::string& why) {
    auto jobs = std::move(queue);
    queue.clear();
    for (auto& j : jobs) fail(*j, why);
  }

  // --- the server -----------------------------------------------------------

  bool ensure_server() {
    if (ready) return true;
    if (starting) return false;
    while (!exits.empty() && Clock::now() - exits.front() > kCrashWindow) exits.pop_front();
    if (static_cast<int>(exits.size()) >= kMaxCrashes) {
      fail_queue("the Lean server keeps ending (" + std::to_string(exits.size()) +
                 " times within a minute); see the proxy's log");
      return false;
    }
    std::vector<std::string> argv = target.argv;
    if (target.sandbox) {
      // Under bwrap or not at all: a missing or unusable bwrap fails the
      // checks with its reason, it never means running them unsandboxed.
      // Probed at each start, on the backend's worker: the probe runs bwrap
      // (up to 5 s), which the loop every session shares must not wait for.
      if (!sandboxed) {
        probe_sandbox();
        return false;
      }
      auto command = std::move(*sandboxed);
      sandboxed.reset();
      if (!command.problem.empty()) {
        log::error("check server for " + target.cwd + ": " + command.problem);
        fail_queue(command.problem);
        return false;
      }
      argv = std::move(command.argv);
    }
    starting = true;
    server = std::make_unique<ServerConnection>(
        service.loop_, io::ServerProcess::Spec{argv, target.cwd, target.env}, target.max_message,
        ServerConnection::Handlers{[this](const Message& m) { on_notification(m); },
                                   [this](const std::string& why) { server_gone(why); }, {}});
    try {
      ++service.stats_.server_starts;
      nlohmann::json init = {{"processId", nullptr},
                             {"rootUri", util::file_uri(target.cwd)},
                             {"capabilities", nlohmann::json::object()},
                             {"initializationOptions", {{"hasWidgets", false}}}};
      server->start(init.dump(), [this](bool ok, std::string detail) {
        starting = false;
        if (!ok) {
          log::error("check server: initialize failed: " + detail);
          server->kill();
          return;
        }
        ready = true;
        log::info("check server for " + target.cwd + " ready (pid " + std::to_string(server->pid()) + ")");
        schedule();
      });
    } catch (const std::exception& e) {
      starting = false;
      server.reset();
      fail_queue(std::string("cannot start the Lean server: ") + e.what());
      return false;
    }
    return false;
  }

  void probe_sandbox() {
    std::string path_list;
    for (const auto& e : target.env)
      if (e.rfind("PATH=", 0) == 0) path_list = e.substr(5);
    if (target.env.empty()) path_list = std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
    starting = true;
    auto result = std::make_shared<SandboxCommand>();
    backend->with_store_reply(
        [result, argv = target.argv, cwd = target.cwd, path_list](cache::Store&) {
          *result = make_sandboxed(argv, cwd, path_list);
          return std::string();
        },
        [this, result](std::string) {  // on the loop, while this workspace lives (the backend's post)
          starting = false;
          sandboxed = std::move(*result);
          schedule();
        });
  }

  void server_gone(const std::string& why) {
    ++service.stats_.server_exits;
    log::warn("check server for " + target.cwd + ": " + why);
    exits.push_back(Clock::now());
    ready = starting = false;
    auto old = std::move(server);  // safe: the connection reports its end from a posted task
    // Its documents died with it; their checks fail (never cached).
    std::vector<std::shared_ptr<Job>> lost;
    for (auto& d : docs) {
      d->timer.reset();
      d->open = d->busy = false;
      ++d->run;
      if (d->job) lost.push_back(std::move(d->job));
    }
    for (auto& job : lost) fail(*job, why);
    if (!queue.empty()) schedule();
  }

  // --- documents ------------------------------------------------------------

  // A free document for `header`: one that has it loaded (no import cost),
  // else one never used, else a new one within the limit, else the least
  // recently used other one (Lean restarts its worker for the new header).
  Doc* pick(const std::string& header) {
    Doc *same = nullptr, *fresh = nullptr, *lru = nullptr;
    for (auto& d : docs) {
      if (d->busy) continue;
      if (!d->open) fresh = fresh ? fresh : d.get();
      else if (d->header == header && (!same || d->last_used > same->last_used)) same = d.get();
      else if (!lru || d->last_used < lru->last_used) lru = d.get();
    }
    if (same) return same;
    if (fresh) return fresh;
    if (static_cast<int>(docs.size()) < target.docs) {
      auto d = std::make_unique<Doc>();
      d->slot = static_cast<int>(docs.size()) + 1;
      d->uri = util::file_uri((fs::path(dir) / ("LeanProxyCheck" + std::to_string(d->slot) + ".lean")).string());
      docs.push_back(std::move(d));
      return docs.back().get();
    }
    return lru;
  }

  void schedule() {
    while (!queue.empty()) {
      if (!ensure_server()) return;
      Doc* d = pick(queue.front()->header);
      if (!d) return;  // all busy: the next finished check schedules again
      auto job = std::move(queue.front());
      queue.pop_front();
      run_on(*d, std::move(job));
    }
  }

  void run_on(Doc& d, std::shared_ptr<Job> job) {
    d.busy = true;
    d.job = job;
    ++d.run;
    d.last_used = Clock::now();
    const std::string* deps = job->answer && job->answer->cacheable ? &job->answer->deps : nullptr;
    // A worker holds the imports it loaded when it started: if they changed
    // on disk since, restart it (close + open) instead of checking against
    // old imports.
    bool stale = d.open && deps && !d.worker_deps.empty() && *deps != d.worker_deps;
    if (stale) {
      log::info("check: imports changed on disk; restarting " + d.uri);
      close(d);
    }
    bool worker_start = !d.open || d.header != job->header;
    if (!job->warmup) ++(worker_start ? service.stats_.header_loads : service.stats_.header_reuse);
    d.last_set = "[]";
    d.fatal = d.stale_note = d.build_output = false;
    ++d.version;
    if (!d.open) {
      server->notify("textDocument/didOpen", "{\"textDocument\":{\"uri\":" + quote(d.uri) +
                                                 ",\"languageId\":\"lean4\",\"version\":" +
                                                 std::to_string(d.version) + ",\"text\":" + quote(job->req.text) + "}}");
      d.open = true;
    } else {
      server->notify("textDocument/didChange", "{\"textDocument\":{\"uri\":" + quote(d.uri) + ",\"version\":" +
                                                   std::to_string(d.version) + "},\"contentChanges\":[{\"text\":" +
                                                   quote(job->req.text) + "}]}");
    }
    if (worker_start) {
      d.header = job->header;
      d.worker_deps = deps ? *deps : std::string();
    }
    std::uint64_t run = d.run;
    Doc* dp = &d;
    d.wait_id = server->request("textDocument/waitForDiagnostics",
                                "{\"uri\":" + quote(d.uri) + ",\"version\":" + std::to_string(d.version) + "}",
                                [this, dp, run](const Message& reply) { on_finished(*dp, run, reply); });
    long long timeout = job->warmup ? 0 : job->timeout_ms;
    if (timeout > 0)
      d.timer = service.loop_.after(std::chrono::milliseconds(timeout), [this, dp, run] { on_deadline(*dp, run); });
  }

  void close(Doc& d) {
    if (!d.open) return;
    server->notify("textDocument/didClose", "{\"textDocument\":{\"uri\":" + quote(d.uri) + "}}");
    d.open = false;
  }

  void on_notification(const Message& m) {
    bool publish = m.method() == "textDocument/publishDiagnostics";
    if (!publish && m.method() != "$/lean/fileProgress") return;
    auto uri_raw = publish ? json::path(m.params(), {"uri"}) : json::path(m.params(), {"textDocument", "uri"});
    auto uri = uri_raw ? json::decode_string(*uri_raw) : std::nullopt;
    if (!uri) return;
    auto it = std::find_if(docs.begin(), docs.end(), [&](auto& d) { return d->uri == *uri; });
    if (it == docs.end()) return;
    Doc& d = **it;
    auto ver_raw = publish ? json::path(m.params(), {"version"}) : json::path(m.params(), {"textDocument", "version"});
    if (!ver_raw || json::to_int64(*ver_raw) != d.version) return;  // an older version's news
    if (!publish) {
      if (auto processing = json::member(m.params(), "processing")) {
        json::ArrayReader r(*processing);
        std::string_view item;
        while (r.next(item)) {
          auto kind = json::path(item, {"kind"});
          if (kind && json::to_int64(*kind) == 2) d.fatal = true;
        }
      }
      return;
    }
    auto diags = json::member(m.params(), "diagnostics");
    if (!diags) return;
    d.last_set = std::string(*diags);  // no incremental capability: every publish is the full set
    cache::DiagnosticKinds kinds{d.stale_note, d.build_output};
    cache::classify_diagnostics(*diags, kinds);  // the editor cache's rules
    d.stale_note = kinds.stale_note;
    d.build_output = kinds.build_output;
  }

  void on_finished(Doc& d, std::uint64_t run, const Message& reply) {
    if (d.run != run || !d.job) return;  // a check that timed out, or a dead server's
    d.timer.reset();
    auto job = d.job;
    if (reply.is_error()) {
      auto msg_raw = json::path(reply.error(), {"message"});
      std::string msg = msg_raw ? json::decode_string(*msg_raw).value_or("") : "";
      release(d);
      if (!job->warmup) fail(*job, "the check did not finish: " + msg);
      return;
    }
    CheckOutcome o;
    o.diagnostics = d.last_set;
    if (d.fatal && !job->warmup) o.failure = "the Lean worker crashed";
    if (target.sandbox && d.build_output) {
      // In the read-only sandbox Lake cannot build: say what to do rather than
      // leave the user with a failed `lake setup-file` and a read-only error.
      // The worker's imports failed for its whole life: end it, so the next
      // check (after the build) starts a fresh one.
      if (!job->warmup && o.failure.empty())
        o.failure = "the imports are not built, and the sandbox is read-only: run `lake build` (or `lean-lsp-proxy "
                    "env optimize`) in " + target.cwd + ", then check again";
      close(d);
    }
    if (job->req.positions.empty()) return complete(d, job, std::move(o), {});
    goals(d, run, job, std::move(o), 0, nlohmann::json::array());
  }

  void goals(Doc& d, std::uint64_t run, std::shared_ptr<Job> job, CheckOutcome o, std::size_t i,
             nlohmann::json acc) {
    if (i == job->req.positions.size()) {
      o.goals = acc.dump();
      return complete(d, job, std::move(o), acc);
    }
    auto [line, ch] = job->req.positions[i];
    std::string params = "{\"textDocument\":{\"uri\":" + quote(d.uri) + "},\"position\":{\"line\":" +
                         std::to_string(line) + ",\"character\":" + std::to_string(ch) + "}}";
    Doc* dp = &d;
    server->request("$/lean/plainGoal", params,
                    [this, dp, run, job, o = std::move(o), i, acc = std::move(acc)](const Message& r) mutable {
                      if (dp->run != run || dp->job != job) return;
                      acc.push_back(r.is_error() ? nlohmann::json() : nlohmann::json::parse(r.result(), nullptr, false));
                      goals(*dp, run, job, std::move(o), i + 1, std::move(acc));
                    });
  }

  void complete(Doc& d, std::shared_ptr<Job> job, CheckOutcome o, const nlohmann::json& goal_results) {
    double elab_ms = std::chrono::duration<double, std::milli>(Clock::now() - job->start).count();
    if (!job->warmup) ++service.stats_.ran;
    bool clean = o.failure.empty() && !d.fatal && !d.stale_note && !d.build_output;
    // Lean keeps a stale-imports note for the worker's life: start it afresh.
    if (d.stale_note) close(d);
    if (caching && clean && !job->warmup && !target.read_only && service.cache_enabled_ && job->answer &&
        job->answer->cacheable) {
      // Stored only if the key computed now equals the one looked up, and the
      // worker's imports are still the disk's (the backend checks both).
      cache::StoreQuery sq{{canonical_uri, 0, job->req.text, "always", false}, job->answer->key.digest,
                           d.worker_deps, o.diagnostics, elab_ms};
      backend->store(std::move(sq), [](cache::StoreOutcome) {});
      for (std::size_t i = 0; i < job->req.positions.size() && i < goal_results.size(); ++i) {
        auto [line, ch] = job->req.positions[i];
        backend->put_answer(job->answer->key.digest, "$/lean/plainGoal",
                            std::to_string(line) + ":" + std::to_string(ch), goal_results[i].dump());
      }
    }
    release(d);
    finish(*job, std::move(o));
  }

  void release(Doc& d) {
    d.busy = false;
    d.job.reset();
    d.timer.reset();
    d.last_used = Clock::now();
    service.loop_.post([this, alive = std::weak_ptr<bool>(token)] {
      if (!alive.expired()) schedule();
    });
  }

  // The deadline: answer now (timed out, never cached), then get the document
  // back: its header alone as a new version makes Lean drop the check's
  // elaboration; a worker that does not yield in time is killed (didClose
  // ends it) and the document re-opened with the header.
  void on_deadline(Doc& d, std::uint64_t run) {
    if (d.run != run || !d.job) return;
    auto job = std::move(d.job);
    ++service.stats_.timeouts;
    CheckOutcome o;
    o.diagnostics = d.last_set;
    o.timed_out = true;
    finish(*job, std::move(o));
    server->cancel(d.wait_id);
    std::string header_text = job->req.text.substr(0, lean::parse_header(job->req.text).end) + "\n";
    auto warm = std::make_shared<Job>();
    warm->warmup = true;
    warm->header = job->header;
    warm->req.text = header_text;
    warm->answer = job->answer;  // same imports: the fingerprint its worker starts with
    run_on(d, warm);  // busy again, with its own run number
    std::uint64_t recover = d.run;
    Doc* dp = &d;
    d.timer = service.loop_.after(kYieldGrace, [this, dp, recover, header_text, warm] {
      if (dp->run != recover) return;
      ++service.stats_.killed;
      log::warn("check: the worker of " + dp->uri + " did not yield after its deadline; ending it");
      close(*dp);  // Lean's watchdog ends the document's worker on didClose
      run_on(*dp, warm);
    });
  }

  void warm_up(const std::string& header_text) {
    auto job = std::make_shared<Job>();
    job->warmup = true;
    job->req.text = header_text;
    job->header = lean::parse_header(header_text).signature;
    // Its fingerprint first (no lookup), so a rebuild restarts it like any other.
    cache::DocQuery q{canonical_uri, 0, header_text, "always", false};
    backend->query(std::move(q), [this, job](cache::DocAnswer a) {
      job->answer = std::move(a);
      enqueue(job);
    });
  }

  nlohmann::json status() const {
    nlohmann::json ds = nlohmann::json::array();
    for (const auto& d : docs)
      ds.push_back({{"uri", d->uri}, {"header", d->header}, {"open", d->open}, {"busy", d->busy}});
    return {{"root", target.cwd},
            {"sandbox", target.sandbox},
            {"server_pid", server && server->alive() ? server->pid() : -1},
            {"ready", ready},
            {"queued", queue.size()},
            {"documents", ds}};
  }
};

CheckService::CheckService(io::EventLoop& loop, std::shared_ptr<cache::Store> store)
    : loop_(loop), store_(std::move(store)) {}

CheckService::~CheckService() = default;

CheckService::Workspace& CheckService::workspace(const CheckTarget& t) {
  std::string key = t.cwd + '\0';
  for (const auto& a : t.argv) key += a + '\0';
  key += '\0';
  for (const auto& e : t.env) key += e + '\0';
  key += t.use_cache ? "c" : "n";
  key += t.sandbox ? "s" : "u";  // never one server for sandboxed and unsandboxed checks
  auto& w = workspaces_[key];
  if (!w) {
    w = std::make_unique<Workspace>(*this, t);
    for (const auto& h : t.warm_headers) w->warm_up(h + "\n");
  }
  return *w;
}

void CheckService::check(const CheckTarget& target, std::string_view params, std::function<void(CheckReply)> done) {
  std::string error;
  auto req = parse_check_request(params, error);
  if (!req) {
    loop_.post([done = std::move(done), error] {
      done({true, protocol::error_code::invalid_params, "$/leanProxy/check: " + error});
    });
    return;
  }
  auto job = std::make_shared<Job>();
  job->header = lean::parse_header(req->text).signature;
  job->timeout_ms = req->timeout_ms.value_or(target.timeout_ms);
  job->req = std::move(*req);
  job->done = std::move(done);
  workspace(target).submit(std::move(job));
}

void CheckService::prewarm(const CheckTarget& target) { workspace(target); }

void CheckService::set_cache_enabled(bool on) { cache_enabled_ = on; }

std::string CheckService::status_json() const {
  nlohmann::json ws = nlohmann::json::array();
  for (const auto& [_, w] : workspaces_) ws.push_back(w->status());
  nlohmann::json j = nlohmann::json::parse(stats_.to_json());
  j["workspaces"] = ws;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void CheckService::shutdown() {
  for (auto& [_, w] : workspaces_) {
    w->fail_queue("the proxy is shutting down");
    if (w->server) w->server->shutdown();
  }
}

}  // namespace leanproxy::pool
