// Cache backend worker: identity, fingerprints, keys and store access.
#include "leanproxy/cache/backend.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "leanproxy/cache/sha256.hpp"
#include "leanproxy/lean/header.hpp"
#include "leanproxy/protocol/json_scan.hpp"
#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/log.hpp"
#include "leanproxy/util/run_capture.hpp"

namespace leanproxy::cache {
namespace fs = std::filesystem;

const char* outcome_name(StoreOutcome o) {
  switch (o) {
    case StoreOutcome::stored: return "stored";
    case StoreOutcome::key_changed: return "key changed while checking";
    case StoreOutcome::worker_stale: return "worker imports are stale";
    case StoreOutcome::not_cacheable: return "not cacheable";
    case StoreOutcome::write_failed: return "write failed";
  }
  return "?";
}

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto colon = s.find(':', start);
    std::string part = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(fs::absolute(part).lexically_normal().string());
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

std::string env_value(const std::string& env_text, const std::string& name) {
  std::istringstream in(env_text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
  return {};
}

// The diagnostic set and elaboration time of a stored record, into `a`:
// one pass over the record (the set comes first and is the bulk of it).
bool read_record(std::string_view payload, DocAnswer& a) {
  json::ObjectReader r(payload);
  std::string_view key, value, diags;
  bool elab = false;
  while ((diags.empty() || !elab) && r.next(key, value)) {
    if (json::key_is(key, "diagnostics")) {
      diags = value;
    } else if (json::key_is(key, "elab_ms")) {
      a.elab_ms = std::strtod(std::string(value).c_str(), nullptr);
      elab = true;
    }
  }
  if (diags.empty() || json::type_of(diags) != json::Type::array) return false;
  a.diagnostics = std::string(diags);
  return true;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ServerIdentity read_server_identity(const ServerSpec& spec, SearchPath& path, std::string& problem) {
  ServerIdentity id;
  std::string root = fs::absolute(spec.cwd).lexically_normal().string();
  if (root.size() > 1 && root.back() == '/') root.pop_back();
  id.workspace_root = root;
  for (const auto& a : spec.argv) id.server_command.append(a).push_back('\0');
  id.client_flags = spec.client_flags;
  id.toolchain_file = slurp(fs::path(root) / "lean-toolchain");
  // lake_config is read per query: the lakefile may change while the server runs.

  // The `lean` the server runs: next to `lake` when the server is Lake
  // (elan puts both in one toolchain directory), else on PATH.
  std::string exe = spec.argv.empty() ? "lean" : spec.argv[0];
  std::string exe_path = exe.find('/') != std::string::npos ? exe : util::find_executable(exe);
  bool is_lake = fs::path(exe).filename() == "lake";
  std::string lean;
  if (is_lake && !exe_path.empty()) {
    auto sibling = fs::path(exe_path).parent_path() / "lean";
    if (fs::exists(sibling)) lean = sibling.string();
  } else if (!is_lake) {
    lean = exe_path;
  }
  if (lean.empty()) lean = util::find_executable("lean");
  if (lean.empty()) {
    problem = "cannot find `lean` to identify the toolchain";
    return id;
  }
  id.lean_path = fs::weakly_canonical(lean).string();
  auto version = util::run_capture({lean, "--version"}, root, std::chrono::seconds(30));
  if (!version.ok()) {
    problem = "`" + lean + " --version` failed";
    return id;
  }
  id.lean_version = trim(version.out);

  auto prefix = util::run_capture({lean, "--print-prefix"}, root, std::chrono::seconds(30));
  if (prefix.ok()) path.toolchain_lib = {fs::path(trim(prefix.out)) / "lib" / "lean"};
  for (auto& t : path.toolchain_lib) t = fs::absolute(t).lexically_normal().string();

  path.workspace_root = root;
  if (is_lake) {
    auto env = util::run_capture({exe_path, "env"}, root, std::chrono::seconds(60));
    if (!env.ok()) {
      problem = "`lake env` failed in " + root;
      return id;
    }
    path.lean_path = split_path(env_value(env.out, "LEAN_PATH"));
    path.src_path = split_path(env_value(env.out, "LEAN_SRC_PATH"));
  } else {
    const char* lp = std::getenv("LEAN_PATH");
    const char* sp = std::getenv("LEAN_SRC_PATH");
    path.lean_path = split_path(lp ? lp : "");
    path.src_path = split_path(sp ? sp : "");
  }
  // Lean always searches its own library last.
  for (const auto& t : path.toolchain_lib) path.lean_path.push_back(t);
  return id;
}

Backend::Backend(std::shared_ptr<Store> store, Post post)
    : store_(std::move(store)), post_(std::move(post)) {
  worker_ = std::thread([this] { run(); });
}

Backend::~Backend() {
  {
    std::lock_guard l(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  worker_.join();
}

void Backend::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock l(mutex_);
      auto ready = [this] { return stopping_ || !tasks_.empty() || !served_.empty(); };
      if (touches_.empty()) {
        cv_.wait(l, ready);
      } else if (touches_.size() < 4096 && !cv_.wait_for(l, std::chrono::milliseconds(20), ready)) {
        l.unlock();
        flush_touches();  // idle for a while: now the LRU bookkeeping costs nobody anything
        continue;
      }
      for (auto& key : served_) touches_.push_back(std::move(key));
      served_.clear();
      if (tasks_.empty()) {
        if (!stopping_) continue;  // only hits served on the I/O thread: touch them once idle
        l.unlock();  // stopping and drained
        flush_touches();
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
      for (const auto& d : unwatched_) watch_->watch(d);  // after the task posted its answer
    } catch (const std::exception& e) {
      log::error(std::string("cache worker: ") + e.what());
    }
    unwatched_.clear();
    --queued_;
  }
}

void Backend::flush_touches() {
  for (const auto& key : touches_) store_->touch(key);
  touches_.clear();
}

void Backend::submit_write(std::function<void()> task) {
  // A write (and an eviction it may start) sees every access before it.
  submit([this, task = std::move(task)] {
    flush_touches();
    task();
  });
}

void Backend::served(const std::string& key) {
  {
    std::lock_guard l(mutex_);
    served_.push_back(key);
  }
  cv_.notify_one();
}

void Backend::submit(std::function<void()> task) {
  ++queued_;
  {
    std::lock_guard l(mutex_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void Backend::refresh_identity(ServerSpec spec) {
  identity_ready_ = false;
  submit([this, spec = std::move(spec)] {
    SearchPath path;
    identity_problem_.clear();
    identity_ = read_server_identity(spec, path, identity_problem_);
    if (!identity_problem_.empty()) log::warn("cache disabled for this server: " + identity_problem_);
    else log::info("cache: server identity " + identity_.lean_version + " (" + identity_.lean_path + ")");
    sha256_hex({});  // OpenSSL loads its providers on the first digest (~2 ms): not on a lookup's way
    deps_ = std::make_unique<DepFingerprinter>(std::move(path));
    // Nothing computed for the previous server applies: other search path,
    // maybe another toolchain.
    closures_.clear();
    {
      std::lock_guard l(memo_mutex_);
      for (auto& [uri, r] : recent_) r.answer.reset();
    }
    identity_ready_ = identity_problem_.empty();
  });
}

const Backend::Closure& Backend::closure_for(const std::vector<std::string>& imports) {
  std::string k;
  for (const auto& m : imports) k.append(m).push_back('\0');
  std::uint64_t generation = watch_->generation();  // before anything is read
  auto it = closures_.find(k);
  if (it != closures_.end() && it->second.trusted && it->second.generation == generation) return it->second;

  Closure c;
  c.generation = generation;
  std::vector<std::string> probes;  // every path looked at: what the result depends on
  {
    struct Log {
      FileHasher& h;
      Log(FileHasher& hasher, std::vector<std::string>& to) : h(hasher) { h.set_probe_log(&to); }
      ~Log() { h.set_probe_log(nullptr); }
    } log(deps_->hasher(), probes);
    c.fp = deps_->fingerprint(imports);
    const std::string& root = identity_.workspace_root;
    for (const char* f : {"lakefile.lean", "lakefile.toml", "lake-manifest.json"}) {
      c.lake_config.append(f).push_back('\0');
      c.lake_config.append(deps_->hasher().read(root + "/" + f).value_or("")).push_back('\0');
    }
  }
  Sha256 worker_view;
  worker_view.field(c.fp.digest).field(c.lake_config);
  c.deps = worker_view.hex_digest();
  c.modules = std::make_shared<const std::vector<std::string>>(std::move(c.fp.modules));

  // Trusted when every directory looked in was watched before `generation`
  // was read. Those that were not are watched once the answer is out.
  std::vector<std::string> dirs;
  dirs.reserve(probes.size());
  for (const auto& p : probes) dirs.push_back(parent_dir(p));
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  c.trusted = !dirs.empty();
  for (auto& d : dirs)
    if (!watch_->covered(d)) {
      c.trusted = false;
      unwatched_.push_back(std::move(d));
    }

  if (closures_.size() >= 256) closures_.clear();  // a bound; rebuilt as documents are looked up
  return closures_[k] = std::move(c);
}

DocAnswer Backend::compute(const DocQuery& q) {
  DocAnswer a;
  a.uri = q.uri;
  a.version = q.version;
  if (!identity_problem_.empty() || !deps_) {
    a.reason = identity_problem_.empty() ? "no server identity" : identity_problem_;
    return a;
  }
  auto header = lean::parse_header(q.text);
  const Closure& c = closure_for(header.imports);
  std::string sha;
  if (!c.fp.cacheable) {
    a.reason = c.fp.reason;
  } else {
    identity_.lake_config = c.lake_config;
    a.deps = c.deps;
    a.modules = c.modules;
    sha = known_sha256(q.uri, q.text);
    if (sha.empty()) sha = sha256_hex(q.text);
    a.key = derive_key(identity_, DocumentIdentity{q.uri, q.build_mode, q.text, c.fp.digest, sha});
    a.cacheable = true;
  }
  remember(q, sha, a, c);
  return a;
}

std::string Backend::known_sha256(const std::string& uri, const std::string& text) {
  std::lock_guard l(memo_mutex_);
  auto it = recent_.find(uri);
  return it != recent_.end() && it->second.text == text ? it->second.sha256 : std::string();
}

void Backend::remember(const DocQuery& q, const std::string& sha256, const DocAnswer& a, const Closure& c) {
  constexpr std::size_t kMaxBytes = 64u << 20;  // texts kept for the comparison, all documents together
  std::lock_guard l(memo_mutex_);
  auto it = recent_.find(q.uri);
  if (it == recent_.end() || it->second.text != q.text) {
    if (it != recent_.end()) {
      recent_bytes_ -= it->second.text.size();
      recent_.erase(it);
    }
    if (q.text.size() > kMaxBytes / 4) return;
    while (recent_bytes_ + q.text.size() > kMaxBytes && !recent_.empty()) {  // any one goes: rarely reached
      recent_bytes_ -= recent_.begin()->second.text.size();
      recent_.erase(recent_.begin());
    }
    it = recent_.emplace(q.uri, Recent{q.text, {}, {}, {}, 0, false}).first;
    recent_bytes_ += q.text.size();
  }
  Recent& r = it->second;
  if (!sha256.empty()) r.sha256 = sha256;
  r.build_mode = q.build_mode;
  r.answer = a;
  r.answer->diagnostics.reset();
  r.answer->lookup_us = 0;
  r.generation = c.generation;
  r.trusted = c.trusted;
}

std::optional<DocAnswer> Backend::answer_now(const DocView& q) {
  // FIFO: with a task queued (an identity refresh, a store) the worker's
  // answer could differ; it must come from the worker then.
  if (!ready()) return std::nullopt;
  auto t0 = std::chrono::steady_clock::now();
  DocAnswer a;
  {
    std::lock_guard l(memo_mutex_);
    auto it = recent_.find(std::string(q.uri));
    if (it == recent_.end()) return std::nullopt;
    const Recent& r = it->second;
    if (!r.answer || !r.trusted || r.build_mode != q.build_mode || r.text != q.text) return std::nullopt;
    if (watch_->generation() != r.generation) return std::nullopt;  // something it read may have changed
    a = *r.answer;
  }
  a.version = q.version;
  if (a.cacheable && q.lookup && store_->mode() != StoreMode::none) {
    auto payload = store_->peek(Table::diagnostics, a.key.digest);
    if (!payload || !read_record(*payload, a)) return std::nullopt;  // the worker looks on disk
  }
  a.lookup_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

void Backend::query(DocQuery q, std::function<void(DocAnswer)> done) {
  submit([this, q = std::move(q), done = std::move(done)]() mutable {
    auto t0 = std::chrono::steady_clock::now();
    DocAnswer a = compute(q);
    bool touch = false;
    if (a.cacheable && q.lookup && store_->mode() != StoreMode::none)
      if (auto payload = store_->get(Table::diagnostics, a.key.digest)) touch = read_record(*payload, a);
    a.lookup_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    // LRU bookkeeping once the worker is idle: a RocksDB write right after
    // the post would hold the CPU the woken I/O thread is waiting for.
    if (touch) touches_.push_back(a.key.digest);
    post_([done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
  });
}

void Backend::store(StoreQuery q, std::function<void(StoreOutcome)> done) {
  submit_write([this, q = std::move(q), done = std::move(done)]() mutable {
    DocAnswer now = compute(q.doc);
    StoreOutcome o;
    if (!now.cacheable) o = StoreOutcome::not_cacheable;
    else if (now.key.digest != q.expected_key) o = StoreOutcome::key_changed;
    else if (now.deps != q.worker_deps) o = StoreOutcome::worker_stale;
    else {
      std::string payload = "{\"diagnostics\":" + q.diagnostics + ",\"elab_ms\":" + std::to_string(q.elab_ms) +
                            ",\"uri\":" + json::quote(q.doc.uri) + "}";
      o = store_->put(Table::diagnostics, now.key.digest, payload) ? StoreOutcome::stored : StoreOutcome::write_failed;
      // Remember the last stored key per document, for `explain`.
      if (o == StoreOutcome::stored) {
        std::string comps = "{";
        for (auto& [name, digest] : now.key.components)
          comps += (comps.size() > 1 ? "," : "") + json::quote(name) + ":" + json::quote(digest);
        comps += "}";
        store_->put_meta("last-key:" + q.doc.uri, comps);
      }
    }
    post_([done = std::move(done), o] { done(o); });
  });
}

namespace {
std::string answer_key(const std::string& doc_key, const std::string& method, const std::string& position) {
  Sha256 h;
  h.field(doc_key).field(method).field(position);
  return h.hex_digest();
}
}  // namespace

void Backend::get_answer(std::string doc_key, std::string method, std::string position,
                         std::function<void(std::optional<std::string>)> done) {
  submit([this, k = answer_key(doc_key, method, position), done = std::move(done)]() mutable {
    auto v = store_->get(Table::answers, k);
    std::optional<std::string> result;
    if (v)
      if (auto r = json::member(*v, "result")) result = std::string(*r);
    post_([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

void Backend::put_answer(std::string doc_key, std::string method, std::string position, std::string result) {
  submit_write([this, k = answer_key(doc_key, method, position), result = std::move(result)] {
    store_->put(Table::answers, k, "{\"result\":" + result + "}");
  });
}

void Backend::modules_of(std::vector<std::string> paths, std::function<void(std::vector<std::string>)> done) {
  submit([this, paths = std::move(paths), done = std::move(done)]() mutable {
    std::vector<std::string> mods;
    if (deps_) {
      const SearchPath& sp = deps_->search_path();
      auto under = [](const std::string& path, const std::vector<std::string>& dirs, const std::string& ext) {
        for (const auto& d : dirs) {
          if (path.size() <= d.size() + 1 || path.compare(0, d.size(), d) != 0 || path[d.size()] != '/') continue;
          std::string rel = path.substr(d.size() + 1);
          if (rel.size() <= ext.size() || rel.compare(rel.size() - ext.size(), ext.size(), ext) != 0) continue;
          rel.resize(rel.size() - ext.size());
          for (char& c : rel)
            if (c == '/') c = '.';
          return rel;
        }
        return std::string();
      };
      for (const auto& p : paths) {
        std::string m = under(p, sp.src_path, ".lean");
        if (m.empty()) m = under(p, sp.lean_path, ".ilean");
        if (m.empty()) m = under(p, sp.lean_path, ".olean");
        if (!m.empty()) mods.push_back(std::move(m));
      }
    }
    post_([done = std::move(done), mods = std::move(mods)]() mutable { done(std::move(mods)); });
  });
}

void Backend::with_store_reply(std::function<std::string(Store&)> work, std::function<void(std::string)> done) {
  submit_write([this, work = std::move(work), done = std::move(done)]() mutable {
    std::string result = work(*store_);
    post_([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  });
}

}  // namespace leanproxy::cache
