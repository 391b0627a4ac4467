// file:// URIs: building one from a path as editors do, and reading the path back.
#pragma once

#include <string>
#include <string_view>

namespace leanproxy::util {

/// The file:// URI of an absolute path: bytes other than letters, digits and
/// `/-._~` (and non-ASCII, kept as is) percent-encoded, as VS Code encodes
/// spaces, `#`, `%` and the like.
std::string file_uri(std::string_view path);

/// The path of a file:// URI with its percent-escapes decoded; empty for
/// other schemes. A malformed escape (`%zz`, `%` at the end) is kept as it
/// is: the URI comes from the client and may be anything.
std::string uri_path(std::string_view uri);

}  // namespace leanproxy::util
