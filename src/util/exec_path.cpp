// PATH search.
#include "leanproxy/util/exec_path.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace leanproxy::util {

std::string find_on_path(std::string_view name, std::string_view path_list, const std::string& skip) {
  struct stat skip_st {};
  bool have_skip = !skip.empty() && ::stat(skip.c_str(), &skip_st) == 0;
  while (true) {
    auto colon = path_list.find(':');
    std::string_view dir = path_list.substr(0, colon);
    std::string candidate = dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0 &&
        !(have_skip && st.st_dev == skip_st.st_dev && st.st_ino == skip_st.st_ino)) {
      if (candidate[0] != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd)) candidate = std::string(cwd) + "/" + candidate;
      }
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    path_list.remove_prefix(colon + 1);
  }
  return {};
}

std::string find_executable(std::string_view name) {
  const char* path = std::getenv("PATH");
  return find_on_path(name, path ? path : "/usr/local/bin:/usr/bin:/bin");
}

}  // namespace leanproxy::util
