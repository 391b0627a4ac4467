// The environment manager: `lake exe cache get` (Mathlib workspaces) and
// `lake build`, one run per workspace, output lines as progress.
#include "leanproxy/pool/environment.hpp"

#include <cerrno>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "leanproxy/io/event_loop.hpp"
#include "leanproxy/io/server_process.hpp"
#include "leanproxy/shims/shim.hpp"
#include "leanproxy/util/log.hpp"

namespace leanproxy::pool {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::size_t kLastLines = 20;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}
}  // namespace

bool manifest_lists_mathlib(const std::string& root) {
  std::ifstream in(root + "/lake-manifest.json");
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (!j.is_object() || !j["packages"].is_array()) return false;
  for (const auto& p : j["packages"])
    if (p.is_object() && p.value("name", std::string()) == "mathlib") return true;
  return false;
}

std::vector<std::vector<std::string>> environment_steps(const std::string& root, const std::string& lake) {
  std::vector<std::vector<std::string>> steps;
  if (manifest_lists_mathlib(root)) steps.push_back({lake, "exe", "cache", "get"});
  steps.push_back({lake, "build"});
  return steps;
}

std::optional<int> progress_percent(std::string_view line) {
  for (std::size_t at = line.find('['); at != std::string_view::npos; at = line.find('[', at + 1)) {
    std::size_t i = at + 1;
    if (line.substr(i, 10) == "attempted ") i += 10;
    auto number = [&](long long& out) {
      std::size_t start = i;
      out = 0;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9' && i - start < 12) out = out * 10 + (line[i++] - '0');
      return i > start;
    };
    long long n = 0, m = 0;
    if (!number(n) || i >= line.size() || line[i] != '/') continue;
    ++i;
    if (!number(m) || m <= 0 || n > m) continue;
    return static_cast<int>(n * 100 / m);
  }
  return std::nullopt;
}

struct Environment::Run {
  EnvironmentSpec spec;
  std::vector<std::vector<std::string>> steps;
  std::size_t step = 0;
  std::vector<std::pair<Progress, Done>> waiters;
  std::unique_ptr<io::ServerProcess> process;
  std::unique_ptr<io::EventLoop::Watch> watch;
  int out_fd = -1;
  std::string partial;
  std::deque<std::string> last_lines;
  bool exited = false, eof = false;
  int exit_code = 0;
  json step_results = json::array();
  Clock::time_point started = Clock::now(), step_started;
  std::shared_ptr<bool> token = std::make_shared<bool>(true);
  ~Run() {
    watch.reset();
    if (out_fd >= 0) ::close(out_fd);
    if (process && process->running()) process->terminate();
  }
};

Environment::Environment(io::EventLoop& loop) : loop_(loop) {}
Environment::~Environment() { shutdown(); }

void Environment::shutdown() {
  runs_.clear();  // their processes get SIGTERM; nobody is told
}

bool Environment::running(const std::string& root) const { return runs_.count(root) != 0; }

void Environment::optimize(const EnvironmentSpec& spec, Progress progress, Done done) {
  if (auto it = runs_.find(spec.root); it != runs_.end()) {
    log::info("environment: joining the running optimization of " + spec.root);
    if (progress) progress("joined the optimization already running for " + spec.root, std::nullopt);
    it->second->waiters.emplace_back(std::move(progress), std::move(done));
    return;
  }
  auto run = std::make_unique<Run>();
  run->spec = spec;
  run->steps = environment_steps(spec.root, spec.lake);
  run->waiters.emplace_back(std::move(progress), std::move(done));
  Run& r = *run;
  runs_[spec.root] = std::move(run);
  log::info("environment: optimizing " + spec.root);
  start_step(r);
}

void Environment::start_step(Run& r) {
  const auto& argv = r.steps[r.step];
  r.exited = r.eof = false;
  r.partial.clear();
  r.step_started = Clock::now();
  line(r, "$ " + command_line(argv));
  io::ServerProcess::Spec spec{argv, r.spec.root, shims::server_environment(r.spec.env)};
  std::weak_ptr<bool> alive = r.token;
  Run* rp = &r;
  try {
    r.process = io::ServerProcess::spawn(
        loop_, spec,
        {[this, alive, rp](const std::string& text) {
           if (!alive.expired()) line(*rp, text);
         },
         [this, alive, rp](int status, const std::string& desc) {
           if (alive.expired()) return;
           rp->exited = true;
           rp->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : status;
           log::info("environment: `" + command_line(rp->steps[rp->step]) + "` ended: " + desc);
           // Posted: the step's end destroys the process whose callback this is.
           loop_.post([this, alive, rp] {
             if (!alive.expired()) step_ended(*rp);
           });
         }});
  } catch (const std::exception& e) {
    r.step_results.push_back({{"argv", argv}, {"exitCode", nullptr}, {"seconds", 0.0}});
    line(r, e.what());
    finish(r, false, e.what());
    return;
  }
  ::close(r.process->take_stdin_fd());
  r.out_fd = r.process->take_stdout_fd();
  ::fcntl(r.out_fd, F_SETFL, ::fcntl(r.out_fd, F_GETFL) | O_NONBLOCK);
  r.watch = loop_.watch_readable(r.out_fd, [this, alive, rp] {
    if (alive.expired() || rp->eof) return;
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(rp->out_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // EAGAIN: drained
      if (n == 0) {
        if (!rp->partial.empty()) line(*rp, std::exchange(rp->partial, {}));
        rp->eof = true;
        loop_.post([this, alive, rp] {
          if (alive.expired()) return;
          rp->watch.reset();
          if (rp->out_fd >= 0) ::close(rp->out_fd);
          rp->out_fd = -1;
          step_ended(*rp);
        });
        return;
      }
      rp->partial.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = rp->partial.find('\n')) != std::string::npos) {
        std::string l = rp->partial.substr(0, nl);
        rp->partial.erase(0, nl + 1);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        line(*rp, std::move(l));
      }
    }
  });
}

void Environment::line(Run& r, std::string text) {
  r.last_lines.push_back(text);
  while (r.last_lines.size() > kLastLines) r.last_lines.pop_front();
  auto percent = progress_percent(text);
  auto waiters = r.waiters;  // a callback may add a waiter (a joiner)
  for (auto& [progress, _] : waiters)
    if (progress) progress(text, percent);
}

void Environment::step_ended(Run& r) {
  if (!r.exited || !r.eof || !r.process) return;
  double seconds = std::chrono::duration<double>(Clock::now() - r.step_started).count();
  r.step_results.push_back({{"argv", r.steps[r.step]}, {"exitCode", r.exit_code}, {"seconds", seconds}});
  r.process.reset();
  if (r.exit_code != 0) {
    finish(r, false, "`" + command_line(r.steps[r.step]) + "` failed (exit code " + std::to_string(r.exit_code) + ")");
    return;
  }
  if (++r.step < r.steps.size()) {
    start_step(r);
    return;
  }
  finish(r, true, "");
}

void Environment::finish(Run& r, bool ok, const std::string& error) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - r.started).count();
  json result = {{"ok", ok}, {"root", r.spec.root}, {"steps", r.step_results}, {"durationMs", ms},
                 {"lastLines", json(std::vector<std::string>(r.last_lines.begin(), r.last_lines.end()))}};
  if (!ok) result["error"] = error;
  std::string body = dump(result);
  result["when"] = static_cast<long long>(std::time(nullptr));
  last_[r.spec.root] = dump(result);
  ++runs_total_;
  if (!ok) ++failures_;
  log::info("environment: " + r.spec.root + (ok ? " optimized in " + std::to_string(ms) + " ms" : ": " + error));
  std::string root = r.spec.root;
  auto waiters = std::move(r.waiters);
  runs_.erase(root);  // destroys r
  for (auto& [_, done] : waiters)
    if (done) done(body);
  if (on_done_) on_done_(root, ok);
}

std::string Environment::status_json(const std::string& root) const {
  json j = {{"running", running(root)}, {"root", root}, {"last", nullptr}};
  if (auto it = last_.find(root); it != last_.end()) j["last"] = json::parse(it->second, nullptr, false);
  return dump(j);
}

std::string Environment::stats_json() const {
  json roots = json::array();
  std::map<std::string, bool> all;
  for (const auto& [root, _] : last_) all[root] = true;
  for (const auto& [root, _] : runs_) all[root] = true;
  for (const auto& [root, _] : all) roots.push_back(json::parse(status_json(root)));
  return dump({{"runs", runs_total_}, {"failures", failures_}, {"running", runs_.size()}, {"workspaces", roots}});
}

}  // namespace leanproxy::pool
