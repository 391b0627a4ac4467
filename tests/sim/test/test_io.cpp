// `#eval` of IO actions in the simulator's language: run for real, values and errors worded as Lean's.
#include <doctest/doctest.h>

#include "driver.hpp"
#include "elaborate.hpp"
#include "lang.hpp"
#include "lang_io.hpp"

#include <cerrno>
#include <filesystem>

using namespace leansim;

TEST_CASE("IO: writeFile writes (Unit: no message), readFile shows the contents as a Lean String") {
  simtest::TempDir dir;
  std::string f = dir.path + "/out.txt";
  auto w = diags_of("#eval IO.FS.writeFile \"" + f + "\" \"a \\\"b\\\"\\n-- not a comment\\tdef\"\n");
  CHECK(w.empty());
  CHECK(dir.read("out.txt") == "a \"b\"\n-- not a comment\tdef");
  auto r = diags_of("#eval IO.FS.readFile \"" + f + "\"\n#eval 1 + 1\n");
  REQUIRE(r.size() == 2);  // the string literal did not swallow the next command
  CHECK(r[0]["severity"] == 3);
  CHECK(r[0]["message"] == "\"a \\\"b\\\"\\n-- not a comment\\tdef\"");
  CHECK(r[0]["range"]["start"]["character"] == 0);
  CHECK(r[0]["range"]["end"]["character"] == 5);  // at the #eval keyword
  CHECK(r[1]["message"] == "2");
}

TEST_CASE("IO: failures are errors worded as Lean's IO.Error") {
  simtest::TempDir dir;
  std::string missing = dir.path + "/no/such/dir/x.txt";
  auto w = diags_of("#eval IO.FS.writeFile \"" + missing + "\" \"x\"\n");
  REQUIRE(w.size() == 1);
  CHECK(w[0]["severity"] == 1);
  CHECK(w[0]["message"] == "no such file or directory (error code: 2)\n  file: " + missing);
  auto r = diags_of("#eval IO.FS.readFile \"" + missing + "\"\n");
  REQUIRE(r.size() == 1);
  CHECK(r[0]["message"] == "no such file or directory (error code: 2)\n  file: " + missing);
  // EROFS / EACCES are Lean's permissionDenied: strerror, lower-cased first letter.
  CHECK(io_error_message(EROFS, "Demo/x.txt") == "read-only file system (error code: 30)\n  file: Demo/x.txt");
  CHECK(io_error_message(EACCES, "x") == "permission denied (error code: 13)\n  file: x");
}

TEST_CASE("IO: Process.run gives stdout as a String, a failing exit code is an error") {
  auto ok = diags_of("#eval IO.Process.run { cmd := \"sh\", args := #[\"-c\", \"echo hi; echo err >&2\"] }\n");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0]["severity"] == 3);
  CHECK(ok[0]["message"] == "\"hi\\n\"");
  auto bad = diags_of("#eval IO.Process.run { cmd := \"sh\", args := #[\"-c\", \"exit 3\"] }\n");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0]["severity"] == 1);
  CHECK(bad[0]["message"] == "process 'sh' exited with code 3");
  auto none = diags_of("#eval IO.Process.run { cmd := \"llp-no-such-command\", args := #[] }\n");
  REQUIRE(none.size() == 1);
  CHECK(none[0]["severity"] == 1);
  CHECK(none[0]["message"].get<std::string>().find("no such file or directory (error code: 2)") == 0);
}

TEST_CASE("IO: re-elaboration for requests (run_io off) has no side effects, other #eval forms unchanged") {
  simtest::TempDir dir;
  std::string f = dir.path + "/once.txt";
  Options quiet;
  quiet.run_io = false;
  auto d = diags_of("#eval IO.FS.writeFile \"" + f + "\" \"x\"\n", quiet);
  CHECK(d.empty());
  CHECK_FALSE(std::filesystem::exists(f));
  auto n = diags_of("def n : Nat := 4\n#eval n * 2\n#eval IO.nope\n");
  REQUIRE(n.size() == 2);
  CHECK(n[0]["message"] == "8");
  CHECK(n[1]["message"] == "unknown identifier 'IO.nope'");
}
