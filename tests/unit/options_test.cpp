// Command-line parsing and the default server command.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "leanproxy/proxy/options.hpp"

using namespace leanproxy::proxy;

namespace {
ParseResult parse(std::vector<const char*> args) {
  args.insert(args.begin(), "lean-lsp-proxy");
  return parse_options(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("server command after --") {
  auto r = parse({"--log-level", "debug", "--", "lake", "serve", "--", "/ws"});
  REQUIRE(r.error.empty());
  CHECK(r.options.server_command == std::vector<std::string>{"lake", "serve", "--", "/ws"});
  CHECK(r.options.log_level == leanproxy::log::Level::debug);
}

TEST_CASE("values with = and size suffixes") {
  auto r = parse({"--max-message-size=64M", "--trace-dir=/tmp/t", "--max-restarts", "0"});
  REQUIRE(r.error.empty());
  CHECK(r.options.max_message_size == 64u << 20);
  CHECK(*r.options.trace_dir == "/tmp/t");
  CHECK(r.options.max_restarts == 0);
}

TEST_CASE("bad usage says what is wrong") {
  CHECK(parse({"--bogus"}).error.find("unknown option") != std::string::npos);
  CHECK(parse({"clangd"}).error.find("after --") != std::string::npos);
  CHECK(parse({"--log-level", "loud"}).error.find("log level") != std::string::npos);
  CHECK(parse({"--max-message-size", "-1"}).error.find("positive size") != std::string::npos);
  CHECK(parse({"--root"}).error.find("needs a value") != std::string::npos);
  CHECK(parse({"--restart-window", "0"}).error.find("(0, 86400]") != std::string::npos);
  CHECK_FALSE(parse({"--restart-window", "inf"}).error.empty());
  CHECK_FALSE(parse({"--cache-ttl", "9999999999999999d"}).error.empty());  // would overflow
  CHECK_FALSE(parse({"--idle-timeout", "99999999999999999"}).error.empty());
}

TEST_CASE("default server command is what vscode-lean4 runs") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("llp-opt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  CHECK(default_server_command(dir.string()) == std::vector<std::string>{"lean", "--server"});
  std::ofstream(dir / "lakefile.toml") << "name = \"x\"\n";
  CHECK(default_server_command(dir.string()) == std::vector<std::string>{"lake", "serve"});
  fs::remove_all(dir);
}

TEST_CASE("help mentions every option") {
  auto u = usage();
  for (auto flag : {"--root", "--log-file", "--log-level", "--trace-dir", "--max-message-size", "--max-restarts",
                    "--restart-window", "--help", "--version"})
    CHECK(u.find(flag) != std::string::npos);
}

TEST_CASE("the workspace settings file applies under the command line") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("llp-settings-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / ".lean-lsp-proxy.json") << R"({"cache": "off", "maxRestarts": 2, "bogus": 1})";
  auto r = parse({"--max-restarts", "7"});
  REQUIRE(r.error.empty());
  auto problems = apply_settings_file(dir.string(), r.options);
  CHECK(r.options.cache == Options::CacheMode::off);  // from the file
  CHECK(r.options.max_restarts == 7);                  // the command line wins
  CHECK(problems.find("unknown key \"bogus\"") != std::string::npos);
  std::ofstream(dir / ".lean-lsp-proxy.json") << "not json";
  Options o;
  CHECK(apply_settings_file(dir.string(), o).find("not a JSON object") != std::string::npos);
  CHECK(o.cache == Options::CacheMode::on);
  fs::remove_all(dir);
  CHECK(apply_settings_file(dir.string(), o).empty());  // no file: nothing to say
}
