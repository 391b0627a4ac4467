// Descendants in their own sessions are found and ended; PATH lookup skips a shim.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "leanproxy/util/exec_path.hpp"
#include "leanproxy/util/proc_tree.hpp"

using namespace leanproxy;

TEST_CASE("a setsid grandchild is a descendant and is ended") {
  REQUIRE(proc::become_subreaper());
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Plain deaths for the forked copies: doctest's handlers would report a
    // "crash" of the copy when it is ended.
    std::signal(SIGTERM, SIG_DFL);
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      ::setsid();  // like a Lean worker: out of our process group
      ::write(ready[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    ::pause();
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  auto found = proc::descendants(::getpid());
  CHECK(found.size() >= 2);
  int signalled = proc::end_descendants(std::chrono::milliseconds(2000));
  CHECK(signalled >= 2);
  CHECK(proc::descendants(::getpid()).empty());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("PATH lookup finds executables and skips a given inode") {
  namespace fs = std::filesystem;
  auto base = fs::temp_directory_path() / ("llp-path-" + std::to_string(::getpid()));
  fs::create_directories(base / "a");
  fs::create_directories(base / "b");
  for (auto d : {"a", "b"}) {
    std::ofstream(base / d / "tool") << "#!/bin/sh\n";
    ::chmod((base / d / "tool").c_str(), 0755);
  }
  std::ofstream(base / "a" / "plain") << "x";  // not executable
  std::string path = (base / "a").string() + ":" + (base / "b").string();
  CHECK(util::find_on_path("tool", path) == (base / "a" / "tool").string());
  CHECK(util::find_on_path("tool", path, (base / "a" / "tool").string()) == (base / "b" / "tool").string());
  CHECK(util::find_on_path("plain", path).empty());
  CHECK(util::find_on_path("missing", path).empty());
  fs::remove_all(base);
}
