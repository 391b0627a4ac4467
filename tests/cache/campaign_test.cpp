// Seeded random correctness campaign: the proxy (with cache) and a direct simulator server in lockstep; what the proxy serves must equal what the server gives.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "workspace_fixture.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <sstream>

using namespace cachetest;

namespace {

long env_long(const char* name, long dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : dflt;
}

enum Op { Body, Header, Burst, DepBuild, DepNoBuild, Rebuild, Lakefile, Touch, Reopen, RestartFile, RestartProxy, kOps };
const char* kOpName[] = {"body",  "header", "burst", "dep+build", "dep-nobuild", "rebuild", "lakefile", "touch",
                         "reopen", "restart-file", "restart-proxy"};
// Weights: mostly document edits (where hits happen), with enough environment
// changes that a key missing a dependency would be caught.
const int kWeight[] = {28, 9, 8, 9, 5, 4, 4, 5, 9, 6, 3};

struct Doc {
  const DocSpec* spec;
  std::string uri;
  std::size_t h = 0, b = 0;
  long version = 0;  // monotonic across reopens and restarts: (uri, version) names one text unambiguously
  bool open = false;
  const char* mode = nullptr;  // dependencyBuildMode of the current open (null = absent = "always")
  std::string text() const { return spec->headers[h] + spec->bodies[b]; }
};

struct Counts {
  long steps = 0, checked = 0, hits = 0, misses = 0, burst_hits = 0, restarts = 0, readonly_restarts = 0,
       served_bad = 0, final_bad = 0, rewinds = 0, restart_file_served = 0, extra_publishes = 0, log_mismatches = 0, failed_waits = 0, rebases = 0;
  std::map<std::string, long> ops;
};

class Campaign {
 public:
  Campaign(unsigned long seed, bool old_order, bool lazy) : rng_(seed), seed_(seed), lazy_(lazy) {
    env_ = {{"LEAN_SIM_REORDER_SEED", std::to_string(seed % 100000 + 1)}, {"LEAN_SIM_REORDER_PCT", "50"}};
    if (old_order) env_["LEAN_SIM_OLD_ORDER"] = "1";
    make_workspace(ws_);
    snap_ = ws_.snapshot();
    for (const auto& s : kDocs) docs_.push_back(Doc{&s, ws_.uri(s.rel)});
    start_servers(false);
    for (auto& d : docs_) open_doc(d, nullptr);
    after_doc_ops({});
  }
  ~Campaign() {
    if (proxy_) proxy_->shutdown();
    if (direct_) direct_->shutdown();
    // LLP_CAMPAIGN_KEEP=DIR keeps the workspace, proxy log, store and traces for a post-mortem.
    if (const char* keep = std::getenv("LLP_CAMPAIGN_KEEP")) {
      std::string cmd = std::string("mkdir -p '") + keep + "' && cp -a '" + ws_.root() + "' '" + aux_.path + "' '" + keep + "/'";
      if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not keep the campaign's files\n");
    }
  }

  void run(long steps) {
    // LLP_CAMPAIGN_SKIP=touch,lakefile leaves operations out (to look past a known bug).
    std::vector<int> w(std::begin(kWeight), std::end(kWeight));
    if (const char* skip = std::getenv("LLP_CAMPAIGN_SKIP"))
      for (int i = 0; i < kOps; ++i)
        if (std::string(",") .append(skip).append(",").find("," + std::string(kOpName[i]) + ",") != std::string::npos) w[i] = 0;
    std::discrete_distribution<int> pick(w.begin(), w.end());
    for (long i = 0; i < steps; ++i) {
      Op op = static_cast<Op>(pick(rng_));
      ++c_.steps;
      ++c_.ops[kOpName[op]];
      step(op);
    }
  }
  const Counts& counts() const { return c_; }
  std::string trail() const {
    std::string s;
    for (const auto& t : trail_) s += "  " + t + "\n";
    return s;
  }

 private:
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool coin(int pct) { return static_cast<int>(pick(100)) < pct; }
  Doc& some_open_doc() {
    std::vector<Doc*> open;
    for (auto& d : docs_)
      if (d.open) open.push_back(&d);
    return *open[pick(open.size())];
  }
  void note(const std::string& s) {
    trail_.push_back("#" + std::to_string(c_.steps) + " " + s);
    if (trail_.size() > 25) trail_.pop_front();
    if (env_long("LLP_CAMPAIGN_VERBOSE", 0)) std::fprintf(stderr, "%s\n", trail_.back().c_str());
  }

  void start_servers(bool readonly) {
    ProxyOpts o{cache_dir_, log_file_, {}, env_};
    if (readonly) o.extra = {"--cache", "readonly"};
    if (lazy_) o.extra.insert(o.extra.end(), {"--on-hit", "lazy"});
    if (std::getenv("LLP_CAMPAIGN_KEEP")) o.extra.insert(o.extra.end(), {"--trace-dir", aux_.path + "/traces"});
    proxy_ = start_proxy(ws_.root(), o);
    direct_ = start_direct(ws_.root(), env_);
  }

  // Both servers get every document operation; the proxy first, then the
  // direct server, each waited for, so builds (a worker's `lake setup-file`)
  // never race.
  void open_doc(Doc& d, const char* mode) {
    d.open = true;
    d.mode = mode;
    long v = ++d.version;
    on_both([&](Peer& p, bool) {
      p.open(d.uri, d.text(), v, mode);
      wait(p, d, v);
    });
    fresh_.push_back({&d, v});
  }
  /// Runs a document operation on the proxy, then on the direct server. A
  /// worker's setup may build imports (`always` / `once`); the direct server
  /// then must start from the same disk state, or its build log (part of a
  /// failed setup's message) would differ: so .lake is rewound in between.
  template <class F>
  void on_both(F&& f) {
    ws_.save_build(rewind_);
    auto before = ws_.build_snapshot();
    f(*proxy_, false);
    if (ws_.build_snapshot() != before) {
      ws_.restore_build(rewind_);
      ++c_.rewinds;
    }
    f(*direct_, true);
  }
  void close_doc(Doc& d) {
    for (Peer* p : {proxy_.get(), direct_.get()}) p->close(d.uri);
    d.open = false;
  }
  void wait(Peer& p, const Doc& d, long v) {
    if (!p.wait(d.uri, v)) ++c_.failed_waits;
  }
  /// Edits to new (h, b) states; more than one = a burst: the proxy gets them
  /// back to back (older versions are superseded, the simulator may publish
  /// them late), the direct server finishes each so every version has a reference set.
  void edit(Doc& d, const std::vector<std::pair<std::size_t, std::size_t>>& states) {
    std::vector<std::pair<std::string, std::string>> texts;  // (old, new)
    std::vector<long> versions;
    for (auto [h, b] : states) {
      std::string old = d.text();
      d.h = h, d.b = b;
      texts.push_back({old, d.text()});
      versions.push_back(++d.version);
    }
    on_both([&](Peer& p, bool direct) {
      for (std::size_t i = 0; i < texts.size(); ++i) {
        p.change(d.uri, versions[i], texts[i].first, texts[i].second);
        if (direct) wait(p, d, versions[i]);
      }
      if (!direct) wait(p, d, versions.back());
    });
    for (std::size_t i = 0; i + 1 < versions.size(); ++i) intermediate_.push_back({&d, versions[i]});
    fresh_.push_back({&d, versions.back()});
  }
  /// Reports changed files to both servers; true when there were any.
  bool notify_fs() {
    json ch = ws_.changes_since(snap_);
    // LLP_CAMPAIGN_NO_WATCH=1: an editor without a file watcher (to look past
    // bugs in how notifications are handled).
    if (ch.empty() || env_long("LLP_CAMPAIGN_NO_WATCH", 0)) return false;
    for (Peer* p : {proxy_.get(), direct_.get()}) p->notify("workspace/didChangeWatchedFiles", {{"changes", ch}});
    return true;
  }
  /// Lazy policy: a document whose current version was served without its
  /// server (the campaign never asks the server anything else) has no worker
  /// there to notice an environment change: no stale-imports note, and the
  /// version that next needs the server is checked by a worker started then,
  /// on the new disk. Lean's reference for that is a restarted document, so
  /// both peers close and reopen it. True when any was.
  bool rebase_behind() {
    bool any = false;
    for (auto& d : docs_) {
      if (!lazy_ || !d.open || !proxy_->outcome(d.uri, d.version).hit) continue;
      note("rebase " + d.spec->rel);
      close_doc(d);
      open_doc(d, d.mode);
      ++c_.rebases;
      any = true;
    }
    return any;
  }

  void step(Op op) {
    Doc& d = some_open_doc();
    std::ostringstream what;
    what << kOpName[op];
    switch (op) {
      case Body: {
        std::size_t b = pick(d.spec->bodies.size());
        what << " " << d.spec->rel << " body " << d.b << "->" << b;
        edit(d, {{d.h, b}});
        break;
      }
      case Header: {
        std::size_t h = pick(d.spec->headers.size());
        what << " " << d.spec->rel << " header " << d.h << "->" << h;
        edit(d, {{h, d.b}});
        break;
      }
      case Burst: {
        std::vector<std::pair<std::size_t, std::size_t>> states;
        std::size_t n = 2 + pick(2);
        for (std::size_t i = 0; i < n; ++i) states.push_back({coin(15) ? pick(d.spec->headers.size()) : d.h, pick(d.spec->bodies.size())});
        what << " " << d.spec->rel << " x" << n;
        edit(d, states);
        break;
      }
      case DepBuild:
      case DepNoBuild: {
        bool is_a = coin(70);
        // Always a different variant: writing the same content is the "touch" operation.
        std::size_t& cur = is_a ? a_ : b_;
        std::size_t v = (cur + 1 + pick((is_a ? kA.size() : kB.size()) - 1)) % (is_a ? kA.size() : kB.size());
        cur = v;
        what << (is_a ? " A=" : " B=") << v;
        ws_.write(is_a ? "Demo/A.lean" : "Demo/B.lean", is_a ? kA[v] : kB[v]);
        if (op == DepBuild) what << " build=" << ws_.build();
        break;
      }
      case Rebuild: what << " build=" << ws_.build(); break;
      case Lakefile:
        strict_ = !strict_;
        ws_.write("lakefile.toml", lakefile(strict_));
        what << " strict=" << strict_ << " build=" << ws_.build();
        break;
      case Touch: {
        std::string f = coin(60) ? "Demo/A.lean" : "Demo/B.lean";
        ws_.touch(f);
        what << " " << f;
        break;
      }
      case Reopen: {
        const char* mode = coin(50) ? nullptr : "never";
        what << " " << d.spec->rel << " mode=" << (mode ? mode : "always");
        close_doc(d);
        if (coin(30)) d.b = pick(d.spec->bodies.size());  // an editor may reopen a file changed meanwhile
        break;
      }
      case RestartFile: what << " " << d.spec->rel; break;
      case RestartProxy: break;
      case kOps: break;
    }
    // Environment changes reach the servers as an editor's file watcher reports them.
    notify_fs();
    if (op == DepBuild || op == DepNoBuild || op == Rebuild || op == Lakefile || op == Touch) rebase_behind();
    if (op == Reopen) open_doc(d, coin(50) ? nullptr : "never");
    if (op == RestartFile) {
      close_doc(d);
      open_doc(d, "once");
      restart_file_.push_back({&d, d.version});
    }
    if (op == RestartProxy) {
      bool ro = coin(25);
      what << (ro ? " readonly" : "");
      CHECK(proxy_->shutdown() == 0);
      CHECK(direct_->shutdown() == 0);
      ++c_.restarts;
      c_.readonly_restarts += ro;
      start_servers(ro);
      for (auto& x : docs_)
        if (x.open) open_doc(x, x.mode && std::string(x.mode) == "once" ? nullptr : x.mode);
    }
    note(what.str());
    after_doc_ops(what.str());
  }

  /// After the step's document operations: report files the workers' setup
  /// rebuilt, let every open document settle (a stale-dependency note is
  /// published for the current version), then compare.
  void after_doc_ops(const std::string& what) {
    // Until the workers' setup builds nothing more (a rebase may build).
    for (int i = 0; i < 5 && notify_fs() && rebase_behind(); ++i) {
    }
    for (auto& d : docs_)
      if (d.open)
        for (Peer* p : {proxy_.get(), direct_.get()}) wait(*p, d, d.version);
    for (auto [d, v] : fresh_) {
      auto po = proxy_->outcome(d->uri, v), dox = direct_->outcome(d->uri, v);
      ++c_.checked;
      po.hit ? ++c_.hits : ++c_.misses;
      if (po.served != dox.served) {
        ++c_.served_bad;
        if (c_.served_bad <= 5)
          MESSAGE("served set differs from the direct server's (seed " << seed_ << ", step " << c_.steps << " " << what
                                                                       << ", " << d->spec->rel << " v" << v << std::string(po.hit ? " HIT" : " miss")
                                                                       << ")\n proxy:  " << po.served.dump() << "\n direct: "
                                                                       << dox.served.dump() << "\n text:\n" << d->text() << "\n trail:\n" << trail());
      }
      if (po.hit && po.publishes > 1) ++c_.extra_publishes;  // a correction or a later note: informational
    }
    for (auto [d, v] : intermediate_) {  // superseded in the proxy: only a hit served something
      auto po = proxy_->outcome(d->uri, v);
      if (!po.hit) continue;
      ++c_.burst_hits;
      auto dox = direct_->outcome(d->uri, v);
      if (po.served != dox.served) {
        ++c_.served_bad;
        if (c_.served_bad <= 5)
          MESSAGE("superseded version served wrongly (seed " << seed_ << ", step " << c_.steps << " " << what << ", "
                                                             << d->spec->rel << " v" << v << ")\n proxy:  " << po.served.dump()
                                                             << "\n direct: " << dox.served.dump() << "\n trail:\n" << trail());
      }
    }
    for (auto [d, v] : restart_file_)
      if (proxy_->outcome(d->uri, v).hit) ++c_.restart_file_served;
    for (auto& d : docs_) {
      if (!d.open) continue;
      auto po = proxy_->outcome(d.uri, d.version), dox = direct_->outcome(d.uri, d.version);
      if (po.last != dox.last) {
        ++c_.final_bad;
        if (c_.final_bad <= 5)
          MESSAGE("client's final set differs from the direct server's (seed "
                  << seed_ << ", step " << c_.steps << " " << what << ", " << d.spec->rel << " v" << d.version
                  << std::string(po.hit ? " HIT" : " miss") << ")\n proxy:  " << po.last.dump() << "\n direct: " << dox.last.dump()
                  << "\n trail:\n" << trail());
      }
    }
    long mm = count_lines(log_file_, "cache MISMATCH");
    if (mm > c_.log_mismatches && c_.log_mismatches < 5)
      MESSAGE("cache MISMATCH logged at step " << c_.steps << " " << what << " (seed " << seed_ << ")\n trail:\n" << trail());
    c_.log_mismatches = mm;
    fresh_.clear();
    intermediate_.clear();
    restart_file_.clear();
  }

  Workspace ws_;
  simtest::TempDir aux_;  // outside the workspace: neither built nor watched
  std::string cache_dir_ = aux_.path + "/cache", log_file_ = aux_.path + "/proxy.log", rewind_ = aux_.path + "/rewind";
  std::mt19937_64 rng_;
  unsigned long seed_;
  bool lazy_;
  Env env_;
  Workspace::Snapshot snap_;
  std::vector<Doc> docs_;
  bool strict_ = false;
  std::size_t a_ = 0, b_ = 0;  // variants on disk
  std::unique_ptr<Peer> proxy_, direct_;
  std::vector<std::pair<Doc*, long>> fresh_, intermediate_, restart_file_;
  std::deque<std::string> trail_;
  Counts c_;
};

void run_campaign(bool old_order, long default_steps, bool lazy = false) {
  unsigned long seed = static_cast<unsigned long>(env_long("LLP_CAMPAIGN_SEED", 20260127));
  long steps = env_long("LLP_CAMPAIGN_STEPS", default_steps);
  auto t0 = std::chrono::steady_clock::now();
  Campaign c(seed, old_order, lazy);
  c.run(steps);
  const Counts& k = c.counts();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ostringstream ops;
  for (const auto& [n, v] : k.ops) ops << " " << n << "=" << v;
  std::printf("campaign%s seed=%lu steps=%ld (%.1f s) versions checked=%ld hits=%ld misses=%ld superseded-hits=%ld "
              "proxy-restarts=%ld (readonly %ld) | served-differs=%ld final-differs=%ld restart-file-served=%ld "
              "log-mismatches=%ld failed-waits=%ld hits-with-later-publishes=%ld build-rewinds=%ld lazy-rebases=%ld\n ops:%s\n",
              lazy ? " (lazy)" : old_order ? " (old order)" : "", seed, k.steps, secs, k.checked, k.hits, k.misses, k.burst_hits, k.restarts,
              k.readonly_restarts, k.served_bad, k.final_bad, k.restart_file_served, k.log_mismatches, k.failed_waits,
              k.extra_publishes, k.rewinds, k.rebases, ops.str().c_str());
  std::fflush(stdout);
  CHECK(k.hits > 0);  // the campaign must not pass vacuously
  CHECK(k.served_bad == 0);
  CHECK(k.final_bad == 0);
  CHECK(k.restart_file_served == 0);
  CHECK(k.log_mismatches == 0);
  CHECK(k.failed_waits == 0);
}

}  // namespace

TEST_CASE("campaign: proxy+cache vs direct simulator, current Lean order, late superseded publishes") {
  run_campaign(false, 300);
}

TEST_CASE("campaign: old Lean order (final publish before processing done)") { run_campaign(true, 120); }

TEST_CASE("campaign: --on-hit=lazy, the server told only when needed") { run_campaign(false, 300, true); }
