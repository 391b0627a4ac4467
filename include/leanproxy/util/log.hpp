// Leveled logging to stderr or a file; never to stdout, which carries LSP.
#pragma once

#include <string>
#include <string_view>

namespace leanproxy::log {

enum class Level { trace = 0, debug, info, warn, error, off };

/// Parses "trace|debug|info|warn|error|off"; nullopt-like false on bad input.
bool parse_level(std::string_view name, Level& out);

void set_level(Level level);
Level level();
inline bool enabled(Level l) { return l >= level(); }

/// Redirects output to `path` (appending). Returns false with `error` set when
/// the file cannot be opened; logging then stays on stderr.
bool set_file(const std::string& path, std::string& error);

/// Writes one line: "<time> <level> <message>".
void write(Level l, std::string_view message);

inline void trace(std::string_view m) { if (enabled(Level::trace)) write(Level::trace, m); }
inline void debug(std::string_view m) { if (enabled(Level::debug)) write(Level::debug, m); }
inline void info(std::string_view m) { if (enabled(Level::info)) write(Level::info, m); }
inline void warn(std::string_view m) { if (enabled(Level::warn)) write(Level::warn, m); }
inline void error(std::string_view m) { if (enabled(Level::error)) write(Level::error, m); }

}  // namespace leanproxy::log
