// Blocking whole-buffer writes to a descriptor (EINTR and short writes handled).
#pragma once

#include <string_view>

namespace leanproxy::util {

/// Writes all of `bytes`; false when the descriptor fails (e.g. EPIPE).
bool write_all(int fd, std::string_view bytes);

}  // namespace leanproxy::util
