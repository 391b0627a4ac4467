// Leveled logging: one mutex-guarded write(2) per line, so lines never interleave.
#include "leanproxy/util/log.hpp"

#include "leanproxy/util/fd_io.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>

namespace leanproxy::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<int> g_fd{2};
std::mutex g_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::trace: return "TRACE";
    case Level::debug: return "DEBUG";
    case Level::info: return "INFO ";
    case Level::warn: return "WARN ";
    case Level::error: return "ERROR";
    case Level::off: return "OFF  ";
  }
  return "?";
}
}  // namespace

bool parse_level(std::string_view name, Level& out) {
  static constexpr std::pair<std::string_view, Level> names[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"warning", Level::warn}, {"error", Level::error},
      {"off", Level::off}};
  for (auto& [n, l] : names)
    if (n == name) { out = l; return true; }
  return false;
}

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }

bool set_file(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open log file '" + path + "': " + std::strerror(errno);
    return false;
  }
  int old = g_fd.exchange(fd);
  if (old > 2) ::close(old);
  return true;
}

void write(Level l, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto micros = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%06lldZ", static_cast<long long>(micros));

  std::string line;
  line.reserve(message.size() + 48);
  line.append(stamp).append(" ").append(level_name(l)).append(" [")
      .append(std::to_string(::getpid())).append("] ").append(message).push_back('\n');
  std::lock_guard lock(g_mutex);
  util::write_all(g_fd, line);  // nowhere to log to is not the caller's failure
}

}  // namespace leanproxy::log
