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

void WorkerState::publish_raw(std::int64_t v, const std::string& txt, const std::vector<Diag>& diags) {
  json arr = json::array();
  for (const auto& d : diags)
    if (!d.silent || silent_support) arr.push_back(diag_to_json(txt, d, silent_support));
  out.write(make_notification("textDocument/publishDiagnostics", {{"uri", uri}, {"version", v}, {"diagnostics", arr}}));
}

void WorkerState::publish_doc(VersionDiags& d) {
  bool use_incremental = incremental_support && d.incremental;
  std::size_t from = use_incremental ? d.published : 0;
  json arr = json::array();
  auto add = [&](const Diag& x) {
    if (!x.silent || silent_support) arr.push_back(diag_to_json(d.text, x, silent_support));
  };
  if (!use_incremental)
    for (const auto& x : sticky) add(x);
  for (std::size_t i = from; i < d.diags.size(); ++i) add(d.diags[i]);
  d.published = d.diags.size();
  d.incremental = true;
  json params{{"uri", uri}, {"version", d.version}, {"diagnostics", arr}};
  if (incremental_support) params["isIncremental"] = use_incremental;
  out.write(make_notification("textDocument/publishDiagnostics", params));
}

void WorkerState::progress(std::int64_t v, const std::string& txt, std::size_t from, bool done) {
  json processing = json::array();
  if (!done) processing.push_back({{"range", lsp_range(txt, from, txt.size())}, {"kind", 1}});
  out.write(make_notification("$/lean/fileProgress",
                              {{"textDocument", {{"uri", uri}, {"version", v}}}, {"processing", processing}}));
}

namespace {

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

/// A superseded version's partial set, published out of order (a copy of
/// its state, re-marked so the late publish is a full one).
using Late = VersionDiags;

void elab_loop(WorkerState& st) {
  const Switches& sw = Switches::get();
  std::optional<Late> late;
  for (;;) {
    std::int64_t v;
    std::string text;
    std::shared_ptr<VersionDiags> doc;  // this version's state; the main thread may move on to a newer one
    {
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return st.queued >= 0; });
      v = st.queued;
      text = st.text;
      st.queued = -1;
      st.cancel = false;
      doc = st.doc;
      doc->diags.insert(doc->diags.end(), st.header_diags.begin(), st.header_diags.end());
      st.publish_doc(*doc);  // Lean's first publish of a version: what is known before elaborating
      if (late) {
        st.publish_doc(*late);
        late.reset();
      }
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
          if (m == "exhaust-memory") exhaust_memory();
          if (m == "hang") {
            event("worker_hang");
            for (;;) pause();
          }
        }
        std::lock_guard<std::mutex> lock(st.mu);
        doc->diags.insert(doc->diags.end(), c.diags.begin(), c.diags.end());
        if (i + 1 < cmds.size()) {
          if (!c.diags.empty()) st.publish_doc(*doc);  // a partial set, as Lean's debounced reporter sends
          st.progress(v, text, cmds[i + 1].begin, false);
        }
      }
    }
    std::lock_guard<std::mutex> lock(st.mu);
    if (cancelled) {
      if (st.reorder && std::uniform_int_distribution<int>(0, 99)(st.rng) < Switches::get().reorder_pct) {
        late = *doc;
        late->incremental = false;
      }
      continue;  // the newer version reports; waiters keep waiting for it
    }
    if (sw.old_order) {
      st.publish_doc(*doc);
      st.progress(v, text, 0, true);
    } else {
      st.progress(v, text, 0, true);
      st.publish_doc(*doc);
    }
    event("elab_done", {{"uri", st.uri}, {"version", v}});
    st.done_version = v;
    st.answer_waiters();
  }
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
  st.incremental_support =
      init.msg["params"].value(json::json_pointer("/capabilities/lean/incrementalDiagnosticSupport"), false);
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
    st.doc = std::make_shared<VersionDiags>(VersionDiags{st.version, st.text, {}, false, 0});
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
      Header h = parse_header(st.text);
      if (h.key() != st.header.key()) {
        // The header changed: Lean's worker exits with code 2 and the
        // watchdog starts a fresh process, which re-imports.
        event("worker_exit", {{"uri", uri}, {"code", 2}});
        _exit(2);
      }
      // Same syntax, maybe other spacing: the body now starts elsewhere.
      st.header = std::move(h);
      st.queued = nv;
      st.doc = std::make_shared<VersionDiags>(VersionDiags{nv, st.text, {}, false, 0});  // Lean's `updateDocument`
      st.cancel = true;
      st.cv.notify_all();
    } else if (method == "$/lean/staleDependency") {
      // Lean's handleStaleDependency: a sticky note (replacing an equal one),
      // the next publish non-incremental, and a publish right away.
      std::lock_guard<std::mutex> lock(st.mu);
      Diag note = fixed_note(
          "Imports are out of date and should be rebuilt; use the \"Restart File\" command in your editor.", 3, 1, 0,
          &st.text);
      std::erase_if(st.sticky, [&](const Diag& d) { return d.message == note.message; });
      st.sticky.push_back(note);
      st.doc->incremental = false;
      st.publish_doc(*st.doc);
    } else if (method == "$/cancelRequest") {
      cancel_request(st, msg["params"]["id"]);
    } else if (method == "exit") {
      _exit(0);
    }
  }
}

}  // namespace leansim
