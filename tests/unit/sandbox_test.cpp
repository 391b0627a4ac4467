// The bubblewrap command line of --sandbox (pool/sandbox.hpp): what is isolated, in which order.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "leanproxy/daemon/wire.hpp"
#include "leanproxy/pool/sandbox.hpp"
#include "leanproxy/proxy/options.hpp"

using leanproxy::pool::sandbox_argv;

namespace {

using Argv = std::vector<std::string>;

// Index of the first occurrence of the sequence `seq` in `a`, or -1.
long find_seq(const Argv& a, const Argv& seq) {
  auto it = std::search(a.begin(), a.end(), seq.begin(), seq.end());
  return it == a.end() ? -1 : static_cast<long>(it - a.begin());
}

}  // namespace

TEST_CASE("sandbox argv: isolation flags, then the server command after --") {
  Argv a = sandbox_argv("/usr/bin/bwrap", {"/opt/lean/bin/lake", "serve"}, "/home/u/ws");
  REQUIRE(a.size() > 4);
  CHECK(a.front() == "/usr/bin/bwrap");
  for (const char* flag : {"--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid", "--unshare-ipc"})
    CHECK_MESSAGE(std::find(a.begin(), a.end(), flag) != a.end(), flag);
  // Everything read-only, then fresh /dev, /proc and a private /tmp on top.
  long ro = find_seq(a, {"--ro-bind", "/", "/"});
  long dev = find_seq(a, {"--dev", "/dev"}), proc = find_seq(a, {"--proc", "/proc"});
  long tmp = find_seq(a, {"--tmpfs", "/tmp"});
  CHECK(ro > 0);
  CHECK(dev > ro);
  CHECK(proc > ro);
  CHECK(tmp > ro);
  CHECK(find_seq(a, {"--setenv", "TMPDIR", "/tmp"}) > 0);
  CHECK(find_seq(a, {"--chdir", "/home/u/ws"}) > 0);
  // Nothing writable is bound: no --bind, --dev-bind or --bind-try anywhere.
  for (const char* w : {"--bind", "--dev-bind", "--bind-try", "--dev-bind-try", "--share-net"})
    CHECK(std::find(a.begin(), a.end(), w) == a.end());
  // The command last, verbatim, after a lone "--" (an argument starting with
  // "--" is never taken for a bwrap option).
  long dashdash = find_seq(a, {"--", "/opt/lean/bin/lake", "serve"});
  CHECK(dashdash == static_cast<long>(a.size()) - 3);
}

TEST_CASE("sandbox argv: a workspace or server under /tmp is bound again, read-only, over the private /tmp") {
  Argv a = sandbox_argv("/usr/bin/bwrap", {"/tmp/tc/bin/lean", "--server"}, "/tmp/ws/proj");
  long tmp = find_seq(a, {"--tmpfs", "/tmp"});
  long ws = find_seq(a, {"--ro-bind", "/tmp/ws/proj", "/tmp/ws/proj"});
  long bin = find_seq(a, {"--ro-bind", "/tmp/tc/bin", "/tmp/tc/bin"});
  CHECK(ws > tmp);   // after the tmpfs, or the tmpfs would hide it
  CHECK(bin > tmp);
  // Nested paths are bound once, through their outermost directory.
  Argv b = sandbox_argv("/usr/bin/bwrap", {"/tmp/ws/bin/lake", "serve"}, "/tmp/ws");
  CHECK(find_seq(b, {"--ro-bind", "/tmp/ws", "/tmp/ws"}) > 0);
  CHECK(find_seq(b, {"--ro-bind", "/tmp/ws/bin", "/tmp/ws/bin"}) < 0);
  // Outside /tmp nothing extra is bound ("/tmpfoo" is not under /tmp).
  Argv c = sandbox_argv("/usr/bin/bwrap", {"/usr/bin/lake", "serve"}, "/tmpfoo/ws");
  CHECK(std::count(c.begin(), c.end(), "--ro-bind") == 1);
}

TEST_CASE("--sandbox: flag, settings file (which can only add it), help, and the daemon hello") {
  namespace fs = std::filesystem;
  using leanproxy::proxy::Options;
  const char* argv[] = {"lean-lsp-proxy", "check", "--sandbox", "x.lean"};
  auto r = leanproxy::proxy::parse_options(4, argv);
  REQUIRE(r.error.empty());
  CHECK(r.options.sandbox);
  CHECK(leanproxy::proxy::usage().find("--sandbox") != std::string::npos);

  auto dir = fs::temp_directory_path() / ("llp-sandbox-settings-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"sandbox": true})";
  Options o;
  CHECK(leanproxy::proxy::apply_settings_file(dir.string(), o).empty());
  CHECK(o.sandbox);
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"sandbox": false})";
  CHECK(leanproxy::proxy::apply_settings_file(dir.string(), r.options).empty());
  CHECK(r.options.sandbox);  // the command line wins: a workspace never turns it off
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"sandbox": "yes"})";
  Options bad;
  CHECK(leanproxy::proxy::apply_settings_file(dir.string(), bad).find("\"sandbox\" must be true or false") !=
        std::string::npos);
  CHECK_FALSE(bad.sandbox);
  fs::remove_all(dir);

  // Daemon sessions and `checks` connections carry it.
  std::string error;
  auto h = leanproxy::daemon::decode_hello(
      leanproxy::daemon::encode_session_hello(r.options, {"lake", "serve"}, "/ws", {}, "checks"), error);
  REQUIRE(h);
  CHECK(h->options.sandbox);
  Options plain;
  auto p = leanproxy::daemon::decode_hello(
      leanproxy::daemon::encode_session_hello(plain, {"lake", "serve"}, "/ws", {}, "session"), error);
  REQUIRE(p);
  CHECK_FALSE(p->options.sandbox);
}
