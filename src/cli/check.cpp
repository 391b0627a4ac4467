// The check command: a small LSP client of the proxy itself (started as a
// child, in the daemon unless --no-daemon), one didOpen / waitForDiagnostics /
// didClose per file.
#include "leanproxy/cli/check.hpp"

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "leanproxy/framing/frame_parser.hpp"
#include "leanproxy/proxy/session.hpp"
#include "leanproxy/util/fd_io.hpp"
#include "leanproxy/util/reaper.hpp"

namespace leanproxy::cli {
namespace fs = std::filesystem;
using nlohmann::json;

Verdict judge(const std::string& diagnostics_json, const std::string& text) {
  Verdict v;
  json d = json::parse(diagnostics_json, nullptr, false);
  if (!d.is_array()) {
    v.ok = false;
    v.reasons.push_back("no diagnostics");
    return v;
  }
  for (const auto& x : d) {
    int sev = x.value("severity", 1);
    std::string msg = x.value("message", "");
    if (sev == 1) {
      v.ok = false;
      v.reasons.push_back("error: " + msg.substr(0, msg.find('\n')));
    } else if (msg.find("declaration uses 'sorry'") != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("uses sorry");
    }
  }
  // Options that switch checking off make any "no errors" meaningless.
  for (const char* off : {"debug.skipKernelTC true", "debug.skipKernelTC := true"})
    if (text.find(off) != std::string::npos) {
      v.ok = false;
      v.reasons.push_back("kernel checking disabled (debug.skipKernelTC)");
    }
  return v;
}

std::string format_diagnostic(const std::string& file, const std::string& text) {
  json d = json::parse(text, nullptr, false);
  if (!d.is_object()) return file + ": " + text;
  static const char* names[] = {"", "error", "warning", "info", "hint"};
  int sev = d.value("severity", 1);
  int line = d["range"]["start"].value("line", 0) + 1, col = d["range"]["start"].value("character", 0);
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + names[sev >= 1 && sev <= 4 ? sev : 1] +
         ": " + d.value("message", "");
}

namespace {

class Connection {
 public:
  explicit Connection(const std::vector<std::string>& argv, const std::string& cwd) {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to[0], 0);
      ::dup2(from[1], 1);
      if (::chdir(cwd.c_str()) != 0) ::_exit(127);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    out_ = to[1];
    in_ = from[0];
  }
  ~Connection() {
    if (out_ >= 0) ::close(out_);
    if (in_ >= 0) ::close(in_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  void send(const json& m) {
    if (!util::write_all(out_, framing::encode(m.dump(-1, ' ', false, json::error_handler_t::replace))))
      throw std::runtime_error("the proxy went away");
  }
  json next() {
    char buf[65536];
    for (;;) {
      auto r = parser_.next();
      if (r.status == framing::FrameParser::Status::frame) {
        json m = json::parse(r.body, nullptr, false);
        if (m.contains("method") && m.contains("id")) {  // a server request: answer it
          send({{"jsonrpc", "2.0"}, {"id", m["id"]}, {"result", nullptr}});
          continue;
        }
        return m;
      }
      if (r.status == framing::FrameParser::Status::error) continue;
      ssize_t n = ::read(in_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("the proxy closed the session (see its log)");
      parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  json request(const std::string& method, const json& params) {
    int id = next_id_++;
    json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    send(m);
    for (;;) {
      json r = next();
      if (r.value("id", json()) == id) return r;
      on_message(r);  // includes late waitForDiagnostics replies of served files: ignored
    }
  }
  void close_input() {
    ::close(out_);
    out_ = -1;
  }
  std::function<void(const json&)> on_message = [](const json&) {};

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, next_id_ = 1;
  framing::FrameParser parser_;
};

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int run_check(const proxy::Options& o, const std::vector<std::string>& files) {
  if (files.empty()) {
    std::cerr << "lean-lsp-proxy check: no files given (use - for standard input)\n";
    return 2;
  }
  proxy::SessionConfig config = proxy::session_config(o);
  std::vector<std::string> argv{util::self_executable()};
  if (o.no_daemon) argv.push_back("--no-daemon");
  if (o.cache_dir) argv.insert(argv.end(), {"--cache-dir", *o.cache_dir});
  if (o.cache == proxy::Options::CacheMode::off) argv.insert(argv.end(), {"--cache", "off"});
  if (o.cache == proxy::Options::CacheMode::readonly) argv.insert(argv.end(), {"--cache", "readonly"});
  argv.insert(argv.end(), {"--log-level", o.given.count("--log-level") ? "info" : "warn", "--"});
  argv.insert(argv.end(), config.argv.begin(), config.argv.end());

  bool tty = ::isatty(2);
  json results = json::array();
  int failed = 0;
  try {
    Connection c(argv, config.cwd);
    std::map<std::string, json> last;  // uri → last publish params
    std::map<std::string, bool> served;
    c.on_message = [&](const json& m) {
      std::string method = m.value("method", "");
      if (method == "textDocument/publishDiagnostics") last[m["params"].value("uri", "")] = m["params"];
      if (method == "$/lean/fileProgress" && m["params"]["processing"].empty() &&
          !last.count(m["params"]["textDocument"].value("uri", "")))
        served[m["params"]["textDocument"].value("uri", "")] = true;  // done before any publish: a cache hit
    };
    c.request("initialize", {{"processId", ::getpid()}, {"rootUri", nullptr},
                             {"capabilities", {{"lean", {{"silentDiagnosticSupport", true}}}}}});
    c.send({{"jsonrpc", "2.0"}, {"method", "initialized"}, {"params", json::object()}});
    std::size_t index = 0;
    for (const auto& f : files) {
      ++index;
      std::string text, path;
      if (f == "-") {
        text = read_all(std::cin);
        path = (fs::path(config.cwd) / "Stdin.lean").string();
      } else {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
          std::cerr << f << ": cannot read\n";
          ++failed;
          continue;
        }
        text = read_all(in);
        path = fs::absolute(f).lexically_normal().string();
      }
      std::string uri = "file://" + path;
      if (tty && files.size() > 1) std::fprintf(stderr, "\r[%zu/%zu] %s\033[K", index, files.size(), f.c_str());
      auto t0 = std::chrono::steady_clock::now();
      last.erase(uri);
      served.erase(uri);
      c.send({{"jsonrpc", "2.0"}, {"method", "textDocument/didOpen"},
              {"params", {{"textDocument", {{"uri", uri}, {"languageId", "lean4"}, {"version", 1}, {"text", text}}}}}});
      // A served version is final at once (the proxy checks it against the
      // server in the background); otherwise the version is done when the
      // server answers waitForDiagnostics.
      int wait_id = 1000000 + static_cast<int>(index);
      c.send({{"jsonrpc", "2.0"}, {"id", wait_id}, {"method", "textDocument/waitForDiagnostics"},
              {"params", {{"uri", uri}, {"version", 1}}}});
      json done;
      for (;;) {
        json m = c.next();
        if (m.value("id", json()) == wait_id) {
          done = m;
          break;
        }
        c.on_message(m);
        if (served[uri] && last.count(uri)) break;
      }
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      c.send({{"jsonrpc", "2.0"}, {"method", "textDocument/didClose"}, {"params", {{"textDocument", {{"uri", uri}}}}}});
      json diags = last.count(uri) ? last[uri].value("diagnostics", json::array()) : json::array();
      Verdict v = done.contains("error") ? Verdict{false, {"the check failed: " + done["error"].value("message", "")}}
                                         : judge(diags.dump(), text);
      if (!v.ok) ++failed;
      if (tty && files.size() > 1) std::fprintf(stderr, "\r\033[K");
      if (o.json) {
        results.push_back({{"file", f}, {"ok", v.ok}, {"reasons", v.reasons}, {"cached", served[uri]},
                           {"elapsedMs", ms}, {"diagnostics", diags}});
      } else {
        for (const auto& d : diags)
          if (!d.value("isSilent", false)) std::cout << format_diagnostic(f, d.dump()) << "\n";
        char line[256];
        std::snprintf(line, sizeof line, "%s: %s in %.1f ms%s", f.c_str(), v.ok ? "ok" : "NOT ok", ms,
                      served[uri] ? " (from the cache)" : "");
        std::cerr << line;
        for (const auto& r : v.reasons) std::cerr << "; " << r;
        std::cerr << "\n";
      }
    }
    c.request("shutdown", nullptr);
    c.send({{"jsonrpc", "2.0"}, {"method", "exit"}});
    c.close_input();
  } catch (const std::exception& e) {
    std::cerr << "lean-lsp-proxy check: " << e.what() << "\n";
    return 1;
  }
  if (o.json) std::cout << results.dump(2) << "\n";
  return failed ? 1 : 0;
}

}  // namespace leanproxy::cli
