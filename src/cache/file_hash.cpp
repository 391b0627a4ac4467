// Memoised file hashing with the racy-clean rule.
#include "leanproxy/cache/file_hash.hpp"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "leanproxy/cache/sha256.hpp"

namespace leanproxy::cache {
namespace {
std::int64_t ns(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
}  // namespace

std::optional<std::string> FileHasher::read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<std::string> FileHasher::hash(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  Entry e{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim), {}};
  {
    std::lock_guard lock(mutex_);
    auto it = memo_.find(path);
    if (it != memo_.end() && it->second.dev == e.dev && it->second.ino == e.ino && it->second.size == e.size &&
        it->second.mtime_ns == e.mtime_ns && it->second.ctime_ns == e.ctime_ns) {
      ++memo_hits_;
      return it->second.digest;
    }
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  Sha256 h;
  char buf[1 << 16];
  while (f) {
    f.read(buf, sizeof buf);
    h.update(std::string_view(buf, static_cast<std::size_t>(f.gcount())));
  }
  e.digest = h.hex_digest();
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  std::int64_t youngest = std::max(e.mtime_ns, e.ctime_ns);
  std::lock_guard lock(mutex_);
  ++hashed_;
  if (now_ns - youngest >= std::chrono::duration_cast<std::chrono::nanoseconds>(racy_window_).count())
    memo_[path] = e;
  else
    memo_.erase(path);
  return e.digest;
}

}  // namespace leanproxy::cache
