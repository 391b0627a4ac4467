// File worker setup (Lake's `setup-file`, done in-process) and the worker's memory-exhaustion fault.
#include "worker_state.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace leansim {

Diag fixed_note(const std::string& message, int severity, int end_line, int end_char, const std::string* text) {
  Diag d;
  d.severity = severity;
  d.message = message;
  d.fixed_range = json{{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", end_line}, {"character", end_char}}}};
  d.fixed_full_range = text ? json{{"start", {{"line", 0}, {"character", 0}}}, {"end", lsp_pos(*text, text->size())}}
                            : *d.fixed_range;
  return d;
}

namespace {

/// The module a source file is, by its path under its package's root (Lean's
/// `searchModuleNameOfFileName`); empty outside every package.
std::string module_of(const Workspace& ws, const std::string& path) {
  const Package& pkg = ws.package_of(path);
  if (path.rfind(pkg.root + "/", 0) != 0 || path.size() < 5 || path.substr(path.size() - 5) != ".lean") return "";
  std::string mod = path.substr(pkg.root.size() + 1, path.size() - pkg.root.size() - 6);
  std::replace(mod.begin(), mod.end(), '/', '.');
  return mod;
}

std::string setup_cmd(const std::string& path, const Header& h) {
  std::string cmd = "lake setup-file " + path;
  for (const auto& imp : h.imports) cmd += " " + imp.module;
  return cmd;
}

}  // namespace

bool setup_imports(WorkerState& st, const std::string& build_mode, std::int64_t v, const std::string& text) {
  auto ws = load_workspace(std::filesystem::current_path().string());
  std::string path = uri_to_path(st.uri);
  if (!ws) return true;
  st.opts = ws->package_of(path).opts;
  auto fail = [&](const std::vector<std::string>& stderr_lines) {
    std::string msg = "`" + setup_cmd(path, st.header) + "` failed:\n\nstderr:\n";
    for (const auto& l : stderr_lines) msg += l + "\n";
    st.header_diags.push_back(fixed_note(msg, 1, 0, 0));
    return false;
  };
  // A file importing its own module (directly, or through the sources on
  // disk) is a cycle for Lake. The message names the file's module, so the
  // same text under another module name checks differently.
  std::string self = module_of(*ws, path);
  std::vector<std::string> check_log;
  Builder check(*ws, true, [&](const std::string& l) { check_log.push_back(l); });
  for (const auto& imp : st.header.imports) {
    if (!self.empty() && imp.module == self)
      return fail({"error: build cycle detected:", "  +" + self + ":olean", "  +" + self + ":olean"});
  }
  bool stale = false;
  for (const auto& imp : st.header.imports) stale |= check.build(imp.module).status == ModStatus::stale;
  for (std::size_t i = 0; i < check_log.size(); ++i)
    if (check_log[i].rfind("error: build cycle detected", 0) == 0)
      return fail(std::vector<std::string>(check_log.begin() + static_cast<long>(i), check_log.end()));
  if (!stale) return true;
  if (build_mode == "never") {
    st.header_diags.push_back(fixed_note(
        "Imports are out of date and must be rebuilt; use the \"Restart File\" command in your editor.", 1, 0, 0));
    return false;
  }
  std::vector<std::string> lines;
  Builder build(*ws, false, [&](const std::string& line) {
    lines.push_back(line);
    // Build output, as Lean relays lake's stderr: its own publishes, outside
    // the version's diagnostics (never incremental).
    st.publish_raw(v, text, {fixed_note(line, 3, 1, 0, &text)});
  });
  bool ok = true;
  for (const auto& imp : st.header.imports) {
    auto s = build.build(imp.module).status;
    ok &= s == ModStatus::built || s == ModStatus::up_to_date;
  }
  st.publish_raw(v, text, {});  // Lean clears the progress notes at the end of setup
  return ok ? true : fail(lines);
}

[[noreturn]] void exhaust_memory() {
  // Safe for the machine: RLIMIT_AS bounds what this process may add to its
  // address space. The limit counts what is already mapped (libraries, thread
  // stacks, malloc arenas), so it is set as headroom above the current size.
  long cap_mb = std::clamp(env_int("LEAN_SIM_MEMORY_LIMIT_MB", 256), 16L, 256L);
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) +
                 static_cast<rlim_t>(cap_mb) * 1024 * 1024;
  struct rlimit as{limit, limit}, no_core{0, 0};
  ::setrlimit(RLIMIT_AS, &as);
  ::setrlimit(RLIMIT_CORE, &no_core);
  event("worker_oom_start", {{"limit_mb", cap_mb}});
  // mmap rather than malloc: glibc's arenas have address space reserved
  // already, which malloc could fill without the limit noticing.
  constexpr std::size_t kChunk = 1 << 20;
  static void* blocks[1024];  // static: no allocation of our own once the limit bites
  std::size_t n = 0;
  while (n < sizeof blocks / sizeof blocks[0]) {
    void* p = ::mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;
    std::memset(p, 0x5a, kChunk);  // touched, so it is resident as a real leak would be
    blocks[n++] = p;
  }
  // Room for the event line, then die as the kernel's OOM killer ends a process.
  long allocated_mb = static_cast<long>(n);
  for (std::size_t i = 0; i < 8 && n > 0; ++i) ::munmap(blocks[--n], kChunk);
  event("worker_oom", {{"allocated_mb", allocated_mb}});
  ::raise(SIGKILL);
  _exit(137);
}

}  // namespace leansim
