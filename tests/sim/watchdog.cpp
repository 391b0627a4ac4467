// `lean --server`: the simulated watchdog. One worker process per open
// document (own session via setsid, killed with us via PDEATHSIG), requests
// routed by uri, crashes and header restarts handled as Lean's watchdog does.
// All state lives on the main thread; per-worker reader threads only queue
// what they read and wake the main loop through a pipe.
#include "channel.hpp"
#include "lang.hpp"
#include "server.hpp"
#include "workspace.hpp"

#include <leanproxy/document/store.hpp>
#include <leanproxy/protocol/message.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace leansim {

namespace ec = leanproxy::protocol::error_code;

const Switches& Switches::get() {
  static const Switches s{env_int("LEAN_SIM_STARTUP_MS", 0),       env_int("LEAN_SIM_WORKER_STARTUP_MS", 0),
                          env_int("LEAN_SIM_IMPORT_MS", 0),        env_int("LEAN_SIM_ELAB_MS", 0),
                          env_int("LEAN_SIM_REPLY_DELAY_MS", 0),   env_int("LEAN_SIM_OLD_ORDER", 0) != 0,
                          env_int("LEAN_SIM_REORDER_SEED", 0),     env_int("LEAN_SIM_REORDER_PCT", 50),
                          env_int("LEAN_SIM_CRASH_AFTER", 0),      env_int("LEAN_SIM_MALFORMED_AFTER", 0)};
  return s;
}

namespace {

struct Worker {
  std::uint64_t serial = 0;
  std::string uri;
  Child proc;
  std::unique_ptr<Channel> to;         ///< writes to the worker's stdin
  std::map<std::string, json> pending;  ///< forwarded requests by id (dumped)
  std::set<std::string> import_closure; ///< source uris of every module it imported
  bool crashed = false;
};

struct Event {  // from a reader thread
  std::uint64_t serial;
  bool exited;
  int code;
  json msg;
};

class Watchdog {
 public:
  int run();

 private:
  void send(const json& msg);
  void fatal(const std::string& why);
  void on_client(const json& msg);
  void on_request(const json& msg, const std::string& method);
  void on_notification(const json& msg, const std::string& method);
  void on_worker_event(Event& e);
  void start_worker(const std::string& uri);
  void stop_worker(const std::string& uri);
  void notify_dependents(const std::string& source_uri);
  std::string source_of(const std::string& module) const;
  void check_markers(const std::string& uri);
  [[noreturn]] void quit(int code);

  Channel client_{0, 1};
  leanproxy::document::DocumentStore docs_;
  std::map<std::string, Worker> workers_;  // by uri
  json init_params_;
  bool initialized_ = false, shutdown_ = false;
  std::uint64_t next_serial_ = 1;
  long messages_in_ = 0, messages_out_ = 0;
  std::mutex q_mu_;
  std::deque<Event> queue_;
  int wake_[2] = {-1, -1};
  std::optional<Workspace> ws_ = load_workspace(std::filesystem::current_path().string());
};

void Watchdog::send(const json& msg) {
  client_.write(msg);
  long n = ++messages_out_;
  if (Switches::get().malformed_after > 0 && n == Switches::get().malformed_after)
    client_.write_raw("Content-Length: 14\r\n\r\n{\"jsonrpc\":\"2.");  // a body that is not JSON
}

[[noreturn]] void Watchdog::quit(int code) {
  for (auto& [uri, w] : workers_) ::kill(w.proc.pid, SIGKILL);
  event("server_exit", {{"code", code}});
  _exit(code);
}

void Watchdog::fatal(const std::string& why) {
  std::cerr << "lean --server: " << why << std::endl;
  quit(1);
}

int Watchdog::run() {
  if (::pipe2(wake_, O_CLOEXEC) != 0) return 1;
  event("server_start", {{"cwd", std::filesystem::current_path().string()}});
  sleep_ms(Switches::get().startup_ms);
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{0, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) {
      ssize_t n = ::read(wake_[0], buf, sizeof buf);
      (void)n;
      std::deque<Event> events;
      {
        std::lock_guard<std::mutex> lock(q_mu_);
        events.swap(queue_);
      }
      for (auto& e : events) on_worker_event(e);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) quit(0);  // EOF ends the server, as in Lean
      client_.feed(buf, static_cast<std::size_t>(n));
      while (auto r = client_.next()) {
        if (r->status == Channel::Status::parse_error) fatal("cannot parse JSON-RPC message");
        on_client(r->msg);
      }
    }
  }
}

void Watchdog::on_client(const json& msg) {
  long crash_after = Switches::get().crash_after;
  if (crash_after > 0 && ++messages_in_ >= crash_after) {
    event("server_crash", {{"after", messages_in_}});
    struct rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::abort();  // workers follow through PDEATHSIG
  }
  std::string method = msg.value("method", "");
  bool has_id = msg.contains("id");
  if (!initialized_) {
    // Lean's watchdog reads `initialize`, then requires `initialized`.
    if (init_params_.is_null()) {
      if (method != "initialize" || !has_id) fatal("expected 'initialize' request, got '" + method + "'");
      init_params_ = msg.value("params", json::object());
      json caps = {
          {"textDocumentSync",
           {{"openClose", true}, {"change", 2}, {"willSave", false}, {"willSaveWaitUntil", false}, {"save", {{"includeText", true}}}}},
          {"completionProvider", {{"triggerCharacters", {"."}}, {"resolveProvider", true}}},
          {"hoverProvider", true}, {"declarationProvider", true}, {"definitionProvider", true},
          {"typeDefinitionProvider", true}, {"referencesProvider", true}, {"callHierarchyProvider", true},
          {"workspaceSymbolProvider", true}, {"documentHighlightProvider", true}, {"documentSymbolProvider", true},
          {"foldingRangeProvider", true}, {"renameProvider", {{"prepareProvider", true}}},
          {"semanticTokensProvider",
           {{"legend", {{"tokenTypes", {"keyword", "variable", "property", "function", "leanSorryLike"}}, {"tokenModifiers", json::array()}}},
            {"full", true}, {"range", true}}},
          {"codeActionProvider", {{"resolveProvider", true}, {"codeActionKinds", {"quickfix", "refactor"}}}},
          {"inlayHintProvider", {{"resolveProvider", false}}}};
      send(make_response(msg["id"], {{"capabilities", caps}, {"serverInfo", {{"name", "Lean 4 Server"}, {"version", "0.3.0"}}}}));
      return;
    }
    if (method != "initialized") fatal("expected 'initialized' notification, got '" + method + "'");
    initialized_ = true;
    json watchers = json::array({{{"globPattern", "**/*.lean"}}, {{"globPattern", "**/*.ilean"}}});
    send(make_request("register_lean_watcher", "client/registerCapability",
                      {{"registrations",
                        json::array({{{"id", "register_lean_watcher"},
                                      {"method", "workspace/didChangeWatchedFiles"},
                                      {"registerOptions", {{"watchers", watchers}}}}})}}));
    return;
  }
  if (method.empty()) return;  // a response (to register_lean_watcher): nothing to do
  if (has_id) return on_request(msg, method);
  if (method != "exit" && !msg.contains("params")) fatal("notification '" + method + "' without params");
  on_notification(msg, method);
}

void Watchdog::on_request(const json& msg, const std::string& method) {
  const json& id = msg["id"];
  if (shutdown_) return send(make_error(id, ec::invalid_request, "Server is shutting down"));
  if (method == "shutdown") {
    shutdown_ = true;
    for (auto it = workers_.begin(); it != workers_.end();) stop_worker((it++)->first);
    return send(make_response(id, nullptr));
  }
  const json params = msg.value("params", json::object());
  std::string uri = params.value(json::json_pointer("/textDocument/uri"), params.value("uri", std::string()));
  if (uri.empty()) {
    if (method == "workspace/symbol") return send(make_response(id, json::array()));
    return send(make_error(id, ec::method_not_found, "No request handler found for '" + method + "'"));
  }
  auto it = workers_.find(uri);
  if (it == workers_.end())
    return send(make_error(id, ec::content_modified, "Cannot process request to closed file '" + uri + "'"));
  Worker& w = it->second;
  if (w.crashed)
    return send(make_error(id, ec::worker_crashed, "Server process for " + uri + " crashed, likely due to a stack overflow or a bug in user code."));
  w.pending[id.dump()] = msg;
  w.to->write(msg);
}

void Watchdog::on_notification(const json& msg, const std::string& method) {
  const json& params = msg.contains("params") ? msg["params"] : json::object();
  if (method == "exit") quit(shutdown_ ? 0 : 1);
  if (shutdown_) return;
  std::string uri = params.value(json::json_pointer("/textDocument/uri"), params.value("uri", std::string()));
  if (method == "textDocument/didOpen") {
    if (docs_.find(uri)) return;  // Lean ignores a second didOpen
    if (!docs_.did_open(params.dump()).empty()) return;
    check_markers(uri);
    start_worker(uri);
  } else if (method == "textDocument/didChange") {
    if (!docs_.did_change(params.dump()).empty()) return;
    check_markers(uri);
    auto it = workers_.find(uri);
    if (it == workers_.end()) return;
    if (it->second.crashed) return start_worker(uri);  // a crashed worker restarts on the next edit
    it->second.to->write(msg);
  } else if (method == "textDocument/didClose") {
    if (!docs_.find(uri)) return;
    docs_.did_close(params.dump());
    stop_worker(uri);
    send(make_notification("textDocument/publishDiagnostics", {{"uri", uri}, {"diagnostics", json::array()}}));
  } else if (method == "textDocument/didSave") {
    if (auto it = workers_.find(uri); it != workers_.end() && !it->second.crashed) it->second.to->write(msg);
    notify_dependents(uri);
  } else if (method == "workspace/didChangeWatchedFiles") {
    for (const auto& c : params.value("changes", json::array())) {
      std::string path = uri_to_path(c.value("uri", ""));
      std::filesystem::path p(path);
      if (p.extension() == ".lean") {
        notify_dependents(c.value("uri", ""));
      } else if (p.extension() == ".ilean") {
        // .lake/build/lib/lean/A/B.ilean names module A.B.
        std::string s = p.replace_extension("").string();
        std::size_t at = s.find("/lib/lean/");
        if (at == std::string::npos) continue;
        std::string mod = s.substr(at + 10);
        for (char& ch : mod)
          if (ch == '/') ch = '.';
        notify_dependents(source_of(mod));
      }
    }
  } else if (method == "$/cancelRequest" || method.rfind("$/lean/rpc/", 0) == 0) {
    for (auto& [u, w] : workers_) {
      if (w.crashed) continue;
      bool owns = method == "$/cancelRequest" ? w.pending.count(params.value("id", json()).dump()) > 0 : u == uri;
      if (owns) w.to->write(msg);
    }
  }
  // Other notifications (unknown `$/…` included) are ignored, as in Lean.
}

void Watchdog::check_markers(const std::string& uri) {
  const auto* d = docs_.find(uri);
  if (!d) return;
  if (d->text.find("-- sim: crash-server") != std::string::npos) {
    event("server_crash", {{"marker", uri}});
    struct rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::abort();
  }
  if (d->text.find("-- sim: malformed-frame") != std::string::npos)
    client_.write_raw("Content-Length: 14\r\n\r\n{\"jsonrpc\":\"2.");
}

std::string Watchdog::source_of(const std::string& module) const {
  if (!ws_) return "";
  std::string rel = module;
  for (char& c : rel)
    if (c == '.') c = '/';
  for (const auto& root : ws_->src_path())
    if (file_exists(root + "/" + rel + ".lean")) return path_to_uri(root + "/" + rel + ".lean");
  return "";
}

void Watchdog::notify_dependents(const std::string& source_uri) {
  if (source_uri.empty()) return;
  // Lean's watchdog: every worker whose import closure contains the file.
  std::string canonical = path_to_uri(uri_to_path(source_uri));
  for (auto& [uri, w] : workers_) {
    if (w.crashed || !w.import_closure.count(canonical)) continue;
    w.to->write(make_notification("$/lean/staleDependency", {{"staleDependency", source_uri}}));
  }
}

void Watchdog::start_worker(const std::string& uri) {
  const auto* doc = docs_.find(uri);
  if (!doc) return;
  std::map<std::string, json> carried;  // requests still owed an answer (header restart)
  if (auto it = workers_.find(uri); it != workers_.end()) {
    if (!it->second.crashed) carried.swap(it->second.pending);
    stop_worker(uri);
  }
  Worker& w = workers_[uri];
  w.serial = next_serial_++;
  w.uri = uri;
  w.proc = spawn({self_exe(), "--worker", uri}, /*new_session=*/true, /*die_with_parent=*/true);
  w.to = std::make_unique<Channel>(-1, w.proc.in_fd);
  // The watchdog reports the whole file as being processed until the worker says otherwise.
  std::string text = doc->text;
  json whole{{"range", lsp_range(text, 0, text.size())}, {"kind", 1}};
  send(make_notification("$/lean/fileProgress",
                         {{"textDocument", {{"uri", uri}, {"version", doc->version}}}, {"processing", json::array({whole})}}));
  w.to->write(make_request("sim-init", "initialize", init_params_));
  json open = json::parse(leanproxy::document::DocumentStore::did_open_params(*doc));
  w.to->write(make_notification("textDocument/didOpen", open));
  for (auto& [k, req] : carried) {
    w.pending[k] = req;
    w.to->write(req);
  }
  std::uint64_t serial = w.serial;
  int out_fd = w.proc.out_fd, pid = w.proc.pid, wake = wake_[1];
  std::thread([this, serial, out_fd, pid, wake] {
    Channel from(out_fd, -1);
    for (;;) {
      auto r = from.read();
      if (r.status == Channel::Status::eof) break;
      if (r.status != Channel::Status::message) continue;
      std::lock_guard<std::mutex> lock(q_mu_);
      queue_.push_back({serial, false, 0, std::move(r.msg)});
      if (::write(wake, "x", 1) < 0) {}
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out_fd);
    std::lock_guard<std::mutex> lock(q_mu_);
    queue_.push_back({serial, true, decode_status(status), {}});
    if (::write(wake, "x", 1) < 0) {}
  }).detach();
}

void Watchdog::stop_worker(const std::string& uri) {
  auto it = workers_.find(uri);
  if (it == workers_.end()) return;
  for (auto& [k, req] : it->second.pending)
    send(make_error(req["id"], ec::content_modified, "Cannot process request to closed file '" + uri + "'"));
  if (!it->second.crashed) ::kill(it->second.proc.pid, SIGKILL);
  ::close(it->second.proc.in_fd);
  workers_.erase(it);
}

void Watchdog::on_worker_event(Event& e) {
  Worker* w = nullptr;
  for (auto& [uri, cand] : workers_)
    if (cand.serial == e.serial) w = &cand;
  if (!w) return;  // a worker we already stopped
  if (!e.exited) {
    if (e.msg.contains("method")) {
      if (e.msg["method"] == "$/lean/importClosure") {
        w->import_closure.clear();
        for (const auto& u : e.msg["params"]["importClosure"]) w->import_closure.insert(u.get<std::string>());
        return;  // between watchdog and worker only
      }
      if (!e.msg.contains("id")) send(e.msg);  // publishDiagnostics, fileProgress, …
      return;
    }
    std::string key = e.msg.value("id", json()).dump();
    if (w->pending.erase(key)) send(e.msg);  // the worker's init reply and stale replies are dropped
    return;
  }
  std::string uri = w->uri;
  event("worker_exited", {{"uri", uri}, {"code", e.code}});
  if (e.code == 2) return start_worker(uri);  // header changed: a fresh process re-imports
  // A crash: report it and wait for the next didChange to restart.
  w->crashed = true;
  ::close(w->proc.in_fd);
  w->proc.in_fd = -1;
  const auto* doc = docs_.find(uri);
  std::string text = doc ? doc->text : "";
  json whole{{"range", lsp_range(text, 0, text.size())}, {"kind", 2}};
  send(make_notification("$/lean/fileProgress",
                         {{"textDocument", {{"uri", uri}, {"version", doc ? doc->version : 0}}}, {"processing", json::array({whole})}}));
  for (auto& [k, req] : w->pending)
    send(make_error(req["id"], ec::worker_crashed, "Server process for " + uri + " crashed, likely due to a stack overflow or a bug in user code."));
  w->pending.clear();
}

}  // namespace

int watchdog_main() {
  signal(SIGPIPE, SIG_IGN);
  static Watchdog wd;  // static: reader threads may outlive run()'s frame at _exit
  return wd.run();
}

}  // namespace leansim
