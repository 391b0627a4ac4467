// The environment manager: brings a workspace's build up to date so that
// editors and checks start from built imports — `lake exe cache get` first
// when the workspace depends on Mathlib (building it from source takes
// hours), then `lake build` — with progress, a result per run, and status per
// workspace for `leanProxy.environment.stats` and the daemon's stats.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leanproxy::io {
class EventLoop;
}

namespace leanproxy::pool {

/// True when `<root>/lake-manifest.json` lists a package named `mathlib`.
bool manifest_lists_mathlib(const std::string& root);
/// The steps `optimize` runs in `root`, `lake` being the Lake executable.
std::vector<std::vector<std::string>> environment_steps(const std::string& root, const std::string& lake = "lake");
/// A job counter in a Lake output line (`[12/345]`, `[attempted 12/345 = 3%]`)
/// as a percent; nullopt when the line has none or no total (`[12]`).
std::optional<int> progress_percent(std::string_view line);

/// What to optimize: the workspace, the environment its tools run in (PATH
/// decides which `lake` runs; empty = ours) and the Lake executable.
struct EnvironmentSpec {
  std::string root;
  std::vector<std::string> env;
  std::string lake = "lake";
};

/// Invariants: at most one run per root (a second `optimize` of a root that
/// is running joins it and gets the same result); every `done` is called
/// exactly once, on the loop, unless the manager is destroyed first; a step
/// that fails ends the run.
class Environment {
 public:
  using Progress = std::function<void(const std::string& message, std::optional<int> percent)>;
  using Done = std::function<void(const std::string& result_json)>;

  explicit Environment(io::EventLoop& loop);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  /// Runs (or joins) the optimization of `spec.root`. `progress` may be empty.
  /// The result: {ok, root, steps: [{argv, exitCode, seconds}], durationMs,
  /// lastLines: [...], error?}.
  void optimize(const EnvironmentSpec& spec, Progress progress, Done done);
  /// Called after each run ends (after the `done` callbacks): the owner
  /// refreshes what holds old imports (the daemon's spares).
  void set_on_done(std::function<void(const std::string& root, bool ok)> hook) { on_done_ = std::move(hook); }

  bool running(const std::string& root) const;
  bool busy() const { return !runs_.empty(); }
  /// {running, last: {when, durationMs, ok, steps, lastLines, error?} | null}
  std::string status_json(const std::string& root) const;
  /// The "environment" object of the daemon's stats:
  /// {runs, failures, running, workspaces: [{root, running, last}]}
  std::string stats_json() const;
  /// Ends running steps (SIGTERM; their runs are not reported).
  void shutdown();

  struct Run;

 private:
  void start_step(Run& r);
  void line(Run& r, std::string text);
  void step_ended(Run& r);
  void finish(Run& r, bool ok, const std::string& error);

  io::EventLoop& loop_;
  std::map<std::string, std::unique_ptr<Run>> runs_;  ///< running, by root
  std::map<std::string, std::string> last_;           ///< root -> last result (with "when")
  std::function<void(const std::string&, bool)> on_done_;
  std::uint64_t runs_total_ = 0, failures_ = 0;
  std::shared_ptr<bool> token_ = std::make_shared<bool>(true);
};

}  // namespace leanproxy::pool
