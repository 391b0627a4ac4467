// `lean --worker <uri>`: one simulated file worker. Imports are loaded once
// at startup; each version is elaborated on a thread of its own while the
// main thread keeps answering requests, like Lean's snapshot tasks.
#include "server.hpp"
#include "worker_requests.hpp"
#include "worker_state.hpp"

#include <leanproxy/document/text.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace leansim {

void WorkerState::answer_waiters() {
  for (auto it = waiters.begin(); it != waiters.end();) {
    // Lean waits until the document reaches the version, then for that
    // document's reporter to finish.
    if (version >= it->version && done_version == version) {
      out.write(make_response(it->id, json::object()));
      it = waiters.erase(it);
    } else {
      ++it;
    }
  }
}

void WorkerState::publish(std::int64_t v, const std::string& txt, const std::vector<Diag>& diags) {
  json arr = json::array();
  for (const auto& d : diags)
    if (!d.silent || silent_support) arr.push_back(diag_to_json(txt, d, silent_support));
  out.write(make_notification("textDocument/publishDiagnostics", {{"uri", uri}, {"version", v}, {"diagnostics", arr}}));
}

void WorkerState::progress(std::int64_t v, const std::string& txt, std::size_t from, bool done) {
  json processing = json::array();
  if (!done) processing.push_back({{"range", lsp_range(txt, from, txt.size())}, {"kind", 1}});
  out.write(make_notification("$/lean/fileProgress",
                              {{"textDocument", {{"uri", uri}, {"version", v}}}, {"processing", processing}}));
}

namespace {

Diag fixed_note(const std::string& message, int severity, int end_line, int end_char) {
  Diag d;
  d.severity = severity;
  d.message = message;
  d.fixed_range = json{{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", end_line}, {"character", end_char}}}};
  d.fixed_full_range = d.fixed_range;
  return d;
}

[[noreturn]] void crash() {
  event("worker_crash");
  struct rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGSEGV, SIG_DFL);
  raise(SIGSEGV);
  _exit(139);
}

/// Sleeps in slices so a newer version cancels promptly; false if cancelled.
bool sleep_cancellable(WorkerState& st, long ms) {
  while (ms > 0) {
    long slice = std::min(ms, 10L);
    sleep_ms(slice);
    ms -= slice;
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.cancel) return false;
  }
  return true;
}

struct Late {  // a superseded version's partial set, published out of order
  std::int64_t version;
  std::string text;
  std::vector<Diag> diags;
};

void elab_loop(WorkerState& st) {
  const Switches& sw = Switches::get();
  std::optional<Late> late;
  for (;;) {
    std::int64_t v;
    std::string text;
    std::vector<Diag> acc;
    {
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return st.queued >= 0; });
      v = st.queued;
      text = st.text;
      st.queued = -1;
      st.cancel = false;
      acc = st.header_diags;
      if (st.stale_dependency)
        acc.push_back(fixed_note("Imports are out of date and should be rebuilt; use the \"Restart File\" command in your editor.", 3, 1, 0));
    }
    st.publish(v, text, acc);  // Lean's first publish of a version: what is known before elaborating
    if (late) {
      st.publish(late->version, late->text, late->diags);
      late.reset();
    }
    bool cancelled = false;
    if (!st.header_failed) {
      Env env = st.base_env;
      auto cmds = elaborate(text, st.header.end, env, st.opts);
      st.progress(v, text, cmds.empty() ? text.size() : cmds.front().begin, false);
      for (std::size_t i = 0; i < cmds.size(); ++i) {
        const auto& c = cmds[i];
        if (!sleep_cancellable(st, sw.elab_ms + c.sleep_ms)) {
          cancelled = true;
          break;
        }
        for (const auto& m : c.markers) {
          if (m == "crash") crash();
          if (m == "hang") {
            event("worker_hang");
            for (;;) pause();
          }
        }
        acc.insert(acc.end(), c.diags.begin(), c.diags.end());
        if (i + 1 < cmds.size()) {
          if (!c.diags.empty()) st.publish(v, text, acc);  // a partial set, as Lean's debounced reporter sends
          st.progress(v, text, cmds[i + 1].begin, false);
        }
      }
    }
    if (cancelled) {
      std::lock_guard<std::mutex> lock(st.mu);
      if (st.reorder && std::uniform_int_distribution<int>(0, 99)(st.rng) < Switches::get().reorder_pct)
        late = Late{v, text, acc};
      continue;  // the newer version reports; waiters keep waiting for it
    }
    if (sw.old_order) {
      st.publish(v, text, acc);
      st.progress(v, text, 0, true);
    } else {
      st.progress(v, text, 0, true);
      st.publish(v, text, acc);
    }
    event("elab_done", {{"uri", st.uri}, {"version", v}});
    std::lock_guard<std::mutex> lock(st.mu);
    st.done_version = v;
    st.answer_waiters();
  }
}

/// Lake's part of worker setup (`lake setup-file`): checks or rebuilds the
/// imports. Returns false (with a header error) when the file cannot start.
bool setup_imports(WorkerState& st, const std::string& build_mode, std::int64_t v, const std::string& text) {
  auto ws = load_workspace(std::filesystem::current_path().string());
  std::string path = uri_to_path(st.uri);
  if (!ws) return true;
  st.opts = ws->package_of(path).opts;
  std::vector<std::string> ignored;
  Builder check(*ws, true, [&](const std::string& l) { ignored.push_back(l); });
  bool stale = false;
  for (const auto& imp : st.header.imports) stale |= check.build(imp.module).status == ModStatus::stale;
  if (!stale) return true;
  if (build_mode == "never") {
    st.header_diags.push_back(fixed_note(
        "Imports are out of date and must be rebuilt; use the \"Restart File\" command in your editor.", 1, 0, 0));
    return false;
  }
  std::vector<std::string> lines;
  Builder build(*ws, false, [&](const std::string& line) {
    lines.push_back(line);
    st.publish(v, text, {fixed_note(line, 3, 1, 0)});  // build output, as Lean relays lake's stderr
  });
  bool ok = true;
  for (const auto& imp : st.header.imports) {
    auto s = build.build(imp.module).status;
    ok &= s == ModStatus::built || s == ModStatus::up_to_date;
  }
  st.publish(v, text, {});
  if (ok) return true;
  std::string cmd = "lake setup-file " + path;
  for (const auto& imp : st.header.imports) cmd += " " + imp.module;
  std::string msg = "`" + cmd + "` failed:\n\nstderr:\n";
  for (const auto& l : lines) msg += l + "\n";
  st.header_diags.push_back(fixed_note(msg, 1, 0, 0));
  return false;
}

void apply_changes(WorkerState& st, const json& changes) {
  using leanproxy::document::Position;
  for (const auto& c : changes) {
    std::string t = c.value("text", "");
    if (!c.contains("range")) {
      st.text = leanproxy::document::crlf_to_lf(t);
      continue;
    }
    const auto& r = c["range"];
    Position a{r["start"]["line"].get<std::uint64_t>(), r["start"]["character"].get<std::uint64_t>()};
    Position b{r["end"]["line"].get<std::uint64_t>(), r["end"]["character"].get<std::uint64_t>()};
    st.text = leanproxy::document::replace_range(st.text, a, b, t);
  }
}

}  // namespace

int worker_main(const std::string& uri) {
  const Switches& sw = Switches::get();
  WorkerState st(uri);
  Channel in(0, 1);
  // Handshake with the watchdog: initialize (the client's params), then didOpen.
  auto init = in.read();
  if (init.status != Channel::Status::message || init.msg.value("method", "") != "initialize") return 1;
  st.silent_support = init.msg["params"].value(json::json_pointer("/capabilities/lean/silentDiagnosticSupport"), false);
  st.out.write(make_response(init.msg["id"], json::object()));
  auto open = in.read();
  if (open.status != Channel::Status::message || open.msg.value("method", "") != "textDocument/didOpen") return 1;
  const json& td = open.msg["params"]["textDocument"];
  st.text = leanproxy::document::crlf_to_lf(td.value("text", ""));
  st.version = td.value("version", 0);
  std::string mode = open.msg["params"].value("dependencyBuildMode", "always");
  st.reorder = sw.reorder_seed != 0;
  st.rng.seed(static_cast<std::uint64_t>(sw.reorder_seed) ^ hash64(uri));
  event("worker_start", {{"uri", uri}, {"version", st.version}, {"sid", static_cast<long>(getsid(0))}});
  sleep_ms(sw.worker_startup_ms);

  st.header = parse_header(st.text);
  st.header_diags = st.header.diags;
  if (setup_imports(st, mode, st.version, st.text)) {
    Loaded loaded = load_imports(st.header, search_path_from_env());
    for (const auto& m : loaded.modules) {
      sleep_ms(sw.import_ms);  // paid once per process: body edits reuse the environment
      event("import", {{"uri", uri}, {"module", m}});
    }
    st.base_env = std::move(loaded.env);
    // Like Lean's worker, tell the watchdog which source files this file's
    // environment came from, so it can flag stale dependencies transitively.
    json closure = json::array();
    std::string srcs = env_str("LEAN_SRC_PATH");
    for (const auto& m : loaded.modules) {
      std::string rel = m;
      for (char& c : rel)
        if (c == '.') c = '/';
      for (std::size_t a = 0; a <= srcs.size() && !srcs.empty();) {
        std::size_t b = srcs.find(':', a);
        if (b == std::string::npos) b = srcs.size();
        std::string cand = srcs.substr(a, b - a) + "/" + rel + ".lean";
        if (b > a && file_exists(cand)) {
          closure.push_back(path_to_uri(cand));
          break;
        }
        a = b + 1;
      }
    }
    st.out.write(make_notification("$/lean/importClosure", {{"importClosure", closure}}));
    st.header_diags.insert(st.header_diags.end(), loaded.diags.begin(), loaded.diags.end());
  }
  for (const auto& d : st.header_diags) st.header_failed |= d.severity == 1;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.queued = st.version;
  }
  std::thread(elab_loop, std::ref(st)).detach();

  for (;;) {
    auto r = in.read();
    if (r.status == Channel::Status::eof) _exit(0);
    if (r.status != Channel::Status::message) continue;
    const json& msg = r.msg;
    std::string method = msg.value("method", "");
    if (msg.contains("id") && !method.empty()) {
      handle_request(st, msg);
    } else if (method == "textDocument/didChange") {
      std::lock_guard<std::mutex> lock(st.mu);
      std::int64_t nv = msg["params"]["textDocument"].value("version", st.version + 1);
      if (nv <= st.version) continue;  // Lean ignores outdated versions
      apply_changes(st, msg["params"]["contentChanges"]);
      st.version = nv;
      if (parse_header(st.text).key() != st.header.key()) {
        // The header changed: Lean's worker exits with code 2 and the
        // watchdog starts a fresh process, which re-imports.
        event("worker_exit", {{"uri", uri}, {"code", 2}});
        _exit(2);
      }
      st.queued = nv;
      st.cancel = true;
      st.cv.notify_all();
    } else if (method == "$/lean/staleDependency") {
      std::lock_guard<std::mutex> lock(st.mu);
      st.stale_dependency = true;
    } else if (method == "$/cancelRequest") {
      cancel_request(st, msg["params"]["id"]);
    } else if (method == "exit") {
      _exit(0);
    }
  }
}

}  // namespace leansim
