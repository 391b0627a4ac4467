// Descendant discovery via /proc/<pid>/stat and orderly termination.
#include "leanproxy/util/proc_tree.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace leanproxy::proc {
namespace {

struct Stat {
  pid_t ppid = 0;
  char state = '?';
};

// Parses "pid (comm) state ppid ..."; comm may contain spaces and ')'.
bool read_stat(pid_t pid, Stat& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  std::ifstream f(path);
  if (!f) return false;
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  std::istringstream rest(line.substr(close + 2));
  rest >> out.state >> out.ppid;
  return static_cast<bool>(rest);
}

std::unordered_map<pid_t, Stat> snapshot() {
  std::unordered_map<pid_t, Stat> all;
  DIR* d = ::opendir("/proc");
  if (!d) return all;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0) continue;
    Stat s;
    if (read_stat(static_cast<pid_t>(pid), s)) all.emplace(static_cast<pid_t>(pid), s);
  }
  ::closedir(d);
  return all;
}

}  // namespace

namespace {
std::mutex g_own_mutex;
std::vector<pid_t> g_own;
}  // namespace

std::unique_lock<std::mutex> OwnChildren::lock() { return std::unique_lock(g_own_mutex); }
void OwnChildren::add(pid_t pid) { g_own.push_back(pid); }
void OwnChildren::remove(pid_t pid) {
  std::lock_guard l(g_own_mutex);
  g_own.erase(std::remove(g_own.begin(), g_own.end(), pid), g_own.end());
}

bool become_subreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

std::vector<pid_t> descendants(pid_t root) {
  auto all = snapshot();
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  for (auto& [pid, s] : all) children[s.ppid].push_back(pid);
  std::vector<pid_t> out;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    pid_t p = frontier.back();
    frontier.pop_back();
    auto it = children.find(p);
    if (it == children.end()) continue;
    for (pid_t c : it->second) {
      if (all[c].state == 'Z') continue;  // already dead, only needs reaping
      out.push_back(c);
      frontier.push_back(c);
    }
  }
  return out;
}

int reap_orphans(pid_t keep) {
  int reaped = 0;
  pid_t self = ::getpid();
  std::lock_guard l(g_own_mutex);
  for (auto& [pid, s] : snapshot()) {
    if (s.ppid != self || s.state != 'Z' || pid == keep) continue;
    if (std::find(g_own.begin(), g_own.end(), pid) != g_own.end()) continue;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) ++reaped;
  }
  return reaped;
}

int end_descendants(std::chrono::milliseconds grace, pid_t keep) {
  pid_t self = ::getpid();
  auto victims = descendants(self);
  victims.erase(std::remove(victims.begin(), victims.end(), keep), victims.end());
  for (pid_t p : victims) ::kill(p, SIGTERM);
  int signalled = static_cast<int>(victims.size());
  auto deadline = std::chrono::steady_clock::now() + grace;
  std::vector<pid_t> termed = victims;
  while (!victims.empty()) {
    reap_orphans(keep);
    victims = descendants(self);
    victims.erase(std::remove(victims.begin(), victims.end(), keep), victims.end());
    if (victims.empty()) break;
    // A dying server may start new processes (or a pid may be reused): ask
    // each newcomer to stop too, before the deadline forces it.
    for (pid_t p : victims)
      if (std::find(termed.begin(), termed.end(), p) == termed.end()) {
        ::kill(p, SIGTERM);
        termed.push_back(p);
        ++signalled;
      }
    if (std::chrono::steady_clock::now() >= deadline) {
      for (pid_t p : victims) ::kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      reap_orphans(keep);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return signalled;
}

std::uint64_t tree_pss_kib(pid_t root) {
  std::vector<pid_t> all = descendants(root);
  all.insert(all.begin(), root);
  std::uint64_t total = 0;
  for (pid_t p : all) {
    std::FILE* f = std::fopen(("/proc/" + std::to_string(p) + "/smaps_rollup").c_str(), "r");
    if (!f) continue;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long kib = 0;
      if (std::sscanf(line, "Pss: %llu kB", &kib) == 1) {
        total += kib;
        break;
      }
    }
    std::fclose(f);
  }
  return total;
}

void renice_tree(pid_t root, int nice) {
  std::vector<pid_t> all = descendants(root);
  all.insert(all.begin(), root);
  for (pid_t p : all) ::setpriority(PRIO_PROCESS, static_cast<id_t>(p), nice);
}

}  // namespace leanproxy::proc
