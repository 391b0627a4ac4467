// Shared helpers of the Lean simulator: environment switches, the event log,
// hashing, files and child processes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace leansim {

using json = nlohmann::json;

/// Integer environment switch with a default (unset or unparsable → def).
long env_int(const char* name, long def);
/// String environment switch with a default.
std::string env_str(const char* name, const std::string& def = "");

/// The version string the simulated toolchain reports ("4.28.0-sim" unless
/// LEAN_SIM_VERSION overrides it, so tests can simulate a toolchain change).
std::string lean_version();
std::string lean_githash();

/// Appends one JSON line (with "pid" and "ev" = kind) to the file named by
/// LEAN_SIM_EVENTS. One write(2) with O_APPEND, so lines of concurrent
/// processes never interleave. Tests read this instead of timing anything.
void event(const std::string& kind, json fields = json::object());

void sleep_ms(long ms);

/// FNV-1a 64 over the given parts (separated, so ("ab","c") != ("a","bc")),
/// as 16 hex digits. Stands in for Lake's hashes.
std::string hash_hex(const std::vector<std::string>& parts);
std::uint64_t hash64(const std::string& s);

std::optional<std::string> read_file(const std::string& path);
/// Writes via a temporary file and rename, so concurrent readers (and racing
/// writers of identical content) never see a torn file.
bool write_file_atomic(const std::string& path, const std::string& content);
bool file_exists(const std::string& path);
/// Modification time in nanoseconds, or -1.
long long mtime_ns(const std::string& path);
void make_dirs(const std::string& dir);

/// Absolute path of the running executable and its directory.
std::string self_exe();
std::string self_dir();

/// file:///a/b.lean → /a/b.lean (percent-decoding); empty if not a file uri.
std::string uri_to_path(const std::string& uri);
std::string path_to_uri(const std::string& path);

/// A child with pipes to its stdin/stdout (stderr inherited).
struct Child {
  int pid = -1;
  int in_fd = -1;   ///< write end: the child's stdin
  int out_fd = -1;  ///< read end: the child's stdout
};
/// fork + exec of `argv` with pipes. `new_session` puts the child in a session
/// of its own (setsid), as Lean does for workers; `die_with_parent` arms
/// PR_SET_PDEATHSIG(SIGKILL), which fires when the *forking thread* exits, so
/// callers must fork from a thread that lives as long as the child should.
Child spawn(const std::vector<std::string>& argv, bool new_session, bool die_with_parent);
/// Exit status decoded: exit code, or 128 + signal.
int decode_status(int status);

}  // namespace leansim
