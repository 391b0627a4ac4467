// PATH lookup the way execvp does it (without a shell), so servers are always
// started by absolute path and a shim can skip itself.
#pragma once

#include <string>
#include <string_view>

namespace leanproxy::util {

/// The first executable regular file named `name` in the ':'-separated
/// `path_list` (an empty entry means the current directory), skipping any
/// file that is the same inode as `skip` (a shim looking for the real tool).
/// Empty when none is found.
std::string find_on_path(std::string_view name, std::string_view path_list, const std::string& skip = {});

/// find_on_path with $PATH.
std::string find_executable(std::string_view name);

}  // namespace leanproxy::util
