// `#eval` of Lean's IO actions, run for real by the simulated worker: IO.FS.writeFile / readFile, IO.Process.run.
#pragma once

#include <optional>
#include <string>

namespace leansim {

/// What the `#eval` logs, at its keyword: an info (severity 3) with the
/// value, or an error (1) with the exception, worded as Lean words them.
struct IoOutcome {
  int severity = 3;
  std::string message;
};

/// `src` is a command's text after `#eval`. Recognised (Lean's syntax):
///   IO.FS.writeFile "path" "text"      → no message (Unit); the file is written
///   IO.FS.readFile "path"              → info: the contents as Lean prints a String ("…", escaped)
///   IO.Process.run { cmd := "sh", args := #["-c", "…"] }
///                                      → info: its stdout as a String; exit code ≠ 0 →
///                                        error `process 'sh' exited with code N`
/// Relative paths resolve against the process's working directory (the
/// worker's: the workspace root), as Lean's do. nullopt: not one of these
/// (the Nat evaluator takes the command). `run` false: parsed, not executed
/// (re-elaboration for hover / goals must not repeat side effects).
std::optional<IoOutcome> eval_io(const std::string& src, bool run);

/// Lean's IO.Error.toString for a failed file operation (`errno`, file name):
/// e.g. `read-only file system (error code: 30)\n  file: x.txt`.
std::string io_error_message(int err, const std::string& file);

/// Lean's `repr` of a String: quoted, with \\ \" \n \t \r escaped.
std::string lean_string_repr(const std::string& s);

}  // namespace leansim
