// Unit tests for the lake / lean shims: server detection, PATH resolution past shims, exec argv, install.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/shims/shim.hpp"
#include "leanproxy/util/reaper.hpp"

namespace fs = std::filesystem;
using namespace leanproxy::shims;
using Args = std::vector<std::string>;

namespace {

/// A scratch directory removed at the end of the test case.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "llp-shim-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

fs::path write_exe(const fs::path& p, const std::string& body = "#!/bin/sh\nexit 0\n") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << body;
  fs::permissions(p, fs::perms::owner_all);
  return p;
}

fs::path link(const fs::path& target, const fs::path& at) {
  fs::create_directories(at.parent_path());
  fs::create_symlink(target, at);
  return at;
}

}  // namespace

TEST_CASE("server invocations as editors start them, with or without an elan toolchain") {
  CHECK(is_server_invocation("lake", Args{"serve"}));
  CHECK(is_server_invocation("lake", Args{"serve", "--", "/w"}));
  CHECK(is_server_invocation("lake", Args{"+leanprover/lean4:v4.28.0", "serve", "--", "/w"}));
  CHECK(is_server_invocation("lean", Args{"--server"}));
  CHECK(is_server_invocation("lean", Args{"--server", "/w", "-DmaxHeartbeats=0"}));
  CHECK(is_server_invocation("lean", Args{"+stable", "--server", "/w"}));
  CHECK(is_server_invocation("lean", Args{"-Dx=1", "--server"}));
}

TEST_CASE("everything else passes through") {
  CHECK_FALSE(is_server_invocation("lake", Args{}));
  CHECK_FALSE(is_server_invocation("lake", Args{"--version"}));
  CHECK_FALSE(is_server_invocation("lake", Args{"build"}));
  CHECK_FALSE(is_server_invocation("lake", Args{"+stable", "build"}));
  CHECK_FALSE(is_server_invocation("lake", Args{"env", "lean", "--server"}));
  CHECK_FALSE(is_server_invocation("lake", Args{"+stable"}));
  CHECK_FALSE(is_server_invocation("lean", Args{"--version"}));
  CHECK_FALSE(is_server_invocation("lean", Args{"Main.lean"}));
  CHECK_FALSE(is_server_invocation("lean", Args{"--worker", "file:///a.lean"}));
  CHECK_FALSE(is_server_invocation("lean", Args{"--run", "x.lean", "--", "--server"}));
  CHECK_FALSE(is_server_invocation("elan", Args{"serve"}));
}

TEST_CASE("exec argv: the proxy in front of servers, the real tool untouched otherwise, the guard wins") {
  CHECK(shim_exec_argv("/t/lake", "lake", Args{"serve", "--", "/w"}, false) ==
        Args{"lean-lsp-proxy", "--", "/t/lake", "serve", "--", "/w"});
  CHECK(shim_exec_argv("/t/lake", "lake", Args{"+tc", "serve"}, false) ==
        Args{"lean-lsp-proxy", "--", "/t/lake", "+tc", "serve"});
  CHECK(shim_exec_argv("/t/lean", "lean", Args{"--server", "/w"}, false) ==
        Args{"lean-lsp-proxy", "--", "/t/lean", "--server", "/w"});
  CHECK(shim_exec_argv("/t/lake", "lake", Args{"--version"}, false) == Args{"/t/lake", "--version"});
  CHECK(shim_exec_argv("/t/lake", "lake", Args{"serve"}, true) == Args{"/t/lake", "serve"});
  CHECK(shim_exec_argv("/t/lean", "lean", Args{"--server"}, true) == Args{"/t/lean", "--server"});
}

TEST_CASE("the real tool is found past this shim, repeated shim dirs and other installs' shims") {
  TempDir t;
  auto self = write_exe(t.path / "proxy/lean-lsp-proxy");
  auto other = write_exe(t.path / "other-build/lean-lsp-proxy-0.2");
  link(self, t.path / "shims/lake");
  link(self, t.path / "shims2/lake");
  link(other, t.path / "othershims/lake");
  auto real = write_exe(t.path / "toolchain/bin/lake");
  std::string s = (t.path / "shims").string(), s2 = (t.path / "shims2").string(),
              o = (t.path / "othershims").string(), r = (t.path / "toolchain/bin").string();

  CHECK(find_real_tool("lake", s + ":" + s + ":" + s2 + ":" + o + ":" + r, self.string()) == real.string());
  CHECK(find_real_tool("lake", s + ":" + s, self.string()).empty());  // never itself, even twice on PATH
  CHECK(find_real_tool("lake", o, self.string()).empty());
  CHECK(find_real_tool("lean", s + ":" + r, self.string()).empty());

  // elan's bin/lake is itself a symlink (to elan): that is a real tool.
  auto elan = write_exe(t.path / "elan/bin/elan-init");
  auto elan_lake = link(elan, t.path / "elan/bin/lake");
  CHECK(find_real_tool("lake", s + ":" + (t.path / "elan/bin").string(), self.string()) == elan_lake.string());
}

TEST_CASE("server environment: inherits or copies the base, sets the guard exactly once") {
  ::setenv("LLP_SHIM_TEST_VAR", "x", 1);
  ::setenv(active_variable, "0", 1);
  auto inherited = server_environment({});
  CHECK(std::count(inherited.begin(), inherited.end(), "LLP_SHIM_TEST_VAR=x") == 1);
  CHECK(std::count_if(inherited.begin(), inherited.end(),
                      [](const std::string& e) { return e.rfind("LEAN_LSP_PROXY_ACTIVE=", 0) == 0; }) == 1);
  CHECK(inherited.back() == "LEAN_LSP_PROXY_ACTIVE=1");
  ::unsetenv(active_variable);
  ::unsetenv("LLP_SHIM_TEST_VAR");

  CHECK(server_environment(Args{"PATH=/bin", "LEAN_LSP_PROXY_ACTIVE=0", "HOME=/h"}) ==
        Args{"PATH=/bin", "HOME=/h", "LEAN_LSP_PROXY_ACTIVE=1"});
}

TEST_CASE("only lake and lean act as shims") {
  char name[] = "/usr/bin/lean-lsp-proxy";
  char* argv[] = {name, nullptr};
  CHECK_FALSE(run_as_shim(1, argv).has_value());
  char other[] = "lakeview";
  char* argv2[] = {other, nullptr};
  CHECK_FALSE(run_as_shim(1, argv2).has_value());
}

TEST_CASE("a pass-through call execs the real tool with its arguments untouched") {
  TempDir t;
  auto out = t.path / "args.txt";
  write_exe(t.path / "real/lake", "#!/bin/sh\nprintf '%s|' \"$0\" \"$@\" > '" + out.string() + "'\n");
  link(leanproxy::util::self_executable(), t.path / "shims/lake");
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string path = (t.path / "shims").string() + ":" + (t.path / "real").string();
    ::setenv("PATH", path.c_str(), 1);
    std::string shim = (t.path / "shims/lake").string();
    std::vector<char*> argv{shim.data(), const_cast<char*>("build"), const_cast<char*>("--"),
                            const_cast<char*>("a b"), nullptr};
    auto code = run_as_shim(4, argv.data());
    ::_exit(code ? 100 + *code % 100 : 99);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::ifstream in(out);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  CHECK(got == (t.path / "real/lake").string() + "|build|--|a b|");
}

TEST_CASE("install writes absolute symlinks to this executable, replaces shims, refuses other files") {
  TempDir t;
  auto dir = t.path / "new/shims";
  CHECK(shims_install(dir.string()) == 0);
  std::string self = leanproxy::util::self_executable();
  for (const char* tool : {"lake", "lean"}) {
    REQUIRE(fs::is_symlink(dir / tool));
    CHECK(fs::read_symlink(dir / tool) == fs::path(self));
    CHECK(fs::read_symlink(dir / tool).is_absolute());
  }
  CHECK(shims_install(dir.string()) == 0);  // idempotent

  auto other = t.path / "toolchain";
  write_exe(other / "lake");
  CHECK(shims_install(other.string()) == 1);
  CHECK_FALSE(fs::is_symlink(other / "lake"));
  CHECK_FALSE(fs::exists(other / "lean"));
}
