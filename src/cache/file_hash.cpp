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

std::optional<FileHasher::Entry> FileHasher::identity(const std::string& path) {
  if (probes_) probes_->push_back(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Entry{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
               static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim), {}};
}

bool FileHasher::old_enough(const Entry& e) const {
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return now_ns - std::max(e.mtime_ns, e.ctime_ns) >=
         std::chrono::duration_cast<std::chrono::nanoseconds>(racy_window_).count();
}

std::optional<std::string> FileHasher::read(const std::string& path) {
  auto e = identity(path);
  if (!e) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    auto it = content_.find(path);
    if (it != content_.end() && it->second.same_file(*e)) {
      ++memo_hits_;
      return it->second.digest;
    }
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  e->digest = ss.str();
  std::lock_guard lock(mutex_);
  if (old_enough(*e) && e->size <= (1u << 20)) content_[path] = *e;
  else content_.erase(path);
  return e->digest;
}

std::optional<std::string> FileHasher::hash(const std::string& path) {
  auto e = identity(path);
  if (!e) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    auto it = memo_.find(path);
    if (it != memo_.end() && it->second.same_file(*e)) {
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
  e->digest = h.hex_digest();
  std::lock_guard lock(mutex_);
  ++hashed_;
  if (old_enough(*e)) memo_[path] = *e;
  else memo_.erase(path);
  return e->digest;
}

}  // namespace leanproxy::cache
