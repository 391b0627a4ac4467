// inotify watches over the directories a lookup read from, and their ancestors.
#include "leanproxy/cache/change_watch.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "leanproxy/util/log.hpp"

namespace leanproxy::cache {
namespace {

// A directory whose files were read: any entry's change counts.
constexpr std::uint32_t kLeafMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD;
// A directory on the way: only its entries' existence and identity count
// (no IN_MODIFY: a busy log file in /tmp must not flood the queue).
constexpr std::uint32_t kPathMask = IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                    IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD;

std::string parent_of(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  if (slash == std::string::npos || dir.size() <= 1) return {};
  return slash == 0 ? std::string("/") : dir.substr(0, slash);
}

std::string name_of(const std::string& dir) { return dir.substr(dir.find_last_of('/') + 1); }

bool local_filesystem(const std::string& dir) {
  // Only where every write goes through this kernel: on NFS, SMB, 9p (WSL's
  // Windows drives) or FUSE, another client's write raises no event here.
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // xfs
    case 0x9123683E:  // btrfs
    case 0x01021994:  // tmpfs
    case 0x858458F6:  // ramfs
    case 0x794C7630:  // overlayfs
    case 0x2FC12FC1:  // zfs
    case 0xF2F52010:  // f2fs
    case 0xCA451A4E:  // bcachefs
    case 0x52654973:  // reiserfs
    case 0x3153464A:  // jfs
      return true;
    default:
      return false;
  }
}

}  // namespace

std::shared_ptr<ChangeWatch> ChangeWatch::shared() {
  static std::mutex mutex;
  static std::weak_ptr<ChangeWatch> instance;
  std::lock_guard lock(mutex);
  auto w = instance.lock();
  if (!w) instance = w = std::make_shared<ChangeWatch>();
  return w;
}

ChangeWatch::ChangeWatch(std::size_t max_watches) : max_watches_(max_watches) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) log::debug(std::string("cache: no inotify (") + std::strerror(errno) + "); every lookup stats its files");
}

ChangeWatch::~ChangeWatch() {
  if (fd_ >= 0) ::close(fd_);
}

bool ChangeWatch::usable() const {
  std::lock_guard lock(mutex_);
  return fd_ >= 0;
}

void ChangeWatch::drop_locked(int wd) {
  auto it = dirs_.find(wd);
  if (it == dirs_.end()) return;
  for (const auto& p : it->second.paths) wd_of_.erase(p);
  dirs_.erase(it);
  covered_.clear();
}

void ChangeWatch::restart_locked() {
  if (fd_ >= 0) ::close(fd_);
  dirs_.clear();
  wd_of_.clear();
  covered_.clear();
  remote_.clear();
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ++generation_;
}

void ChangeWatch::drain_locked() {
  if (fd_ < 0) return;
  alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: nothing more queued
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        // Lost events may include a watch gone: nothing can be trusted.
        restart_locked();
        return;
      }
      auto it = dirs_.find(ev->wd);
      bool gone = ev->mask & (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF | IN_UNMOUNT);
      bool relevant = gone || it == dirs_.end() || it->second.leaf ||
                      (ev->len > 0 && it->second.children.count(std::string(ev->name)));
      if (relevant) ++generation_;
      if (ev->mask & (IN_IGNORED | IN_MOVE_SELF)) {
        // Gone, or now elsewhere (a watch follows its inode): its paths are
        // watched no more, and may be again.
        if (ev->mask & IN_MOVE_SELF) ::inotify_rm_watch(fd_, ev->wd);
        drop_locked(ev->wd);
      }
    }
  }
}

std::uint64_t ChangeWatch::generation() {
  std::lock_guard lock(mutex_);
  drain_locked();
  return generation_;
}

ChangeWatch::Ensure ChangeWatch::ensure(const std::string& path, const std::string& child, bool add) {
  if (remote_.count(path)) return Ensure::failed;
  if (auto known = wd_of_.find(path); known != wd_of_.end()) {
    Dir& d = dirs_[known->second];
    if (d.leaf || (!child.empty() && d.children.count(child))) return Ensure::present;
    if (!add) return Ensure::lacking;
    if (child.empty()) {
      if (::inotify_add_watch(fd_, path.c_str(), kLeafMask) != known->second) return Ensure::failed;
      d.leaf = true;
    } else {
      d.children.insert(child);
    }
    return Ensure::lacking;
  }
  if (!add) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? Ensure::lacking : Ensure::missing;
  }
  if (dirs_.size() >= max_watches_) {
    auto now = std::chrono::steady_clock::now();
    if (last_restart_ != std::chrono::steady_clock::time_point{} && now - last_restart_ < std::chrono::minutes(1)) {
      if (!told_) log::info("cache: over " + std::to_string(max_watches_) +
                            " directories to watch; lookups of the largest closures stat their files");
      told_ = true;
      return Ensure::failed;
    }
    last_restart_ = now;
    restart_locked();  // what is still looked up is watched again; the rest was stale
    if (fd_ < 0) return Ensure::failed;
  }
  int wd = ::inotify_add_watch(fd_, path.c_str(), child.empty() ? kLeafMask : kPathMask);
  if (wd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Ensure::missing;
    if (!told_)
      log::info("cache: cannot watch " + path + " (" + std::strerror(errno) + "); lookups there stat their files");
    told_ = true;
    return Ensure::failed;
  }
  if (!local_filesystem(path)) {
    if (!dirs_.count(wd)) ::inotify_rm_watch(fd_, wd);
    remote_.insert(path);
    return Ensure::failed;
  }
  Dir& d = dirs_[wd];  // an inode already watched under another path shares its watch
  d.paths.push_back(path);
  wd_of_[path] = wd;
  if (child.empty()) d.leaf = true;
  else d.children.insert(child);
  return Ensure::lacking;
}

bool ChangeWatch::walk(const std::string& dir, bool add) {
  bool present = true;
  // The deepest existing directory on the way: all of its entries when it
  // is `dir`, else the one entry that would lead to `dir`.
  std::string d = dir, child;
  for (;;) {
    if (d.empty()) return false;
    Ensure e = ensure(d, child, add);
    if (e == Ensure::failed) return false;
    if (e != Ensure::missing) {
      present &= e == Ensure::present;
      break;
    }
    child = name_of(d);
    d = parent_of(d);
  }
  // Every ancestor, for the entry on the way: a rename or a retargeted
  // symlink anywhere on the path changes what the path names. Through a
  // symlink the directory reached has ancestors of its own (a watch
  // follows the link): renaming one of those changes the path too.
  auto ancestors = [&](const std::string& from) {
    for (std::string c = name_of(from), a = parent_of(from); !a.empty(); c = name_of(a), a = parent_of(a)) {
      Ensure e = ensure(a, c, add);
      if (e == Ensure::failed || e == Ensure::missing) return false;
      present &= e == Ensure::present;
    }
    return true;
  };
  if (!ancestors(d)) return false;
  char real[PATH_MAX];
  if (!::realpath(d.c_str(), real)) return false;
  if (d != real && !ancestors(real)) return false;
  return present;
}

bool ChangeWatch::covered(const std::string& dir) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0 || dir.empty() || dir[0] != '/') return false;
  drain_locked();
  if (covered_generation_ != generation_) {
    covered_.clear();
    covered_generation_ = generation_;
  }
  if (covered_.count(dir)) return true;
  if (!walk(dir, /*add=*/false)) return false;
  covered_.insert(dir);
  return true;
}

void ChangeWatch::watch(const std::string& dir) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0 || dir.empty() || dir[0] != '/') return;
  drain_locked();
  walk(dir, /*add=*/true);
}

std::size_t ChangeWatch::watches() const {
  std::lock_guard lock(mutex_);
  return dirs_.size();
}

}  // namespace leanproxy::cache
