// `#eval` of IO actions, executed for real (see lang_io.hpp), with Lean's value and error wording.
#include "lang_io.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace leansim {

namespace {

std::string down_case_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

/// A cursor over the command's text: identifiers, string literals, symbols.
struct Cursor {
  const std::string& s;
  std::size_t i = 0;
  bool bad = false;

  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  std::string ident() {
    ws();
    std::size_t j = i;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '_')) ++j;
    std::string id = s.substr(i, j - i);
    i = j;
    return id;
  }
  bool sym(const char* t) {
    ws();
    std::size_t n = std::strlen(t);
    if (s.compare(i, n, t) != 0) return false;
    i += n;
    return true;
  }
  void expect(const char* t) {
    if (!sym(t)) bad = true;
  }
  // A Lean string literal, escapes decoded: \\ \" \' \n \t \r \xHH.
  std::string str() {
    ws();
    if (i >= s.size() || s[i] != '"') {
      bad = true;
      return {};
    }
    std::string out;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] != '\\' || i + 1 >= s.size()) {
        out.push_back(s[i]);
        continue;
      }
      char e = s[++i];
      if (e == 'n') out.push_back('\n');
      else if (e == 't') out.push_back('\t');
      else if (e == 'r') out.push_back('\r');
      else if (e == 'x' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else out.push_back(e);  // \\ \" \' (and a malformed \x, kept as x)
    }
    if (i >= s.size()) bad = true;  // unterminated
    ++i;
    return out;
  }
  bool done() {
    ws();
    return i >= s.size();
  }
};

IoOutcome error(std::string msg) { return IoOutcome{1, std::move(msg)}; }
IoOutcome string_value(const std::string& v) { return IoOutcome{3, lean_string_repr(v)}; }

// Runs argv with stdin /dev/null and stdout / stderr piped (never the
// worker's own stdout: that is the LSP channel), as Lean's IO.Process.output.
IoOutcome run_process(const std::string& cmd, const std::vector<std::string>& args) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return error(io_error_message(errno, cmd));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return error(io_error_message(errno, cmd));
  }
  std::vector<char*> argv{const_cast<char*>(cmd.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int exec_err[2];  // the child's execvp errno, if it fails (closed by a successful exec)
  if (::pipe2(exec_err, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    return error(io_error_message(errno, cmd));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execvp(argv[0], argv.data());
    int e = errno;
    ssize_t w = ::write(exec_err[1], &e, sizeof e);
    (void)w;
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_err[1]);
  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (pid > 0 && open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) (k == 0 ? stdout_text : stderr_text).append(buf, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int spawn_errno = 0;
  bool exec_failed = pid > 0 && ::read(exec_err[0], &spawn_errno, sizeof spawn_errno) == sizeof spawn_errno;
  ::close(exec_err[0]);
  int status = 0;
  while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pid < 0) return error(io_error_message(errno, cmd));
  if (exec_failed) return error(io_error_message(spawn_errno, cmd));
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) return error("process '" + cmd + "' exited with code " + std::to_string(code));
  return string_value(stdout_text);
}

}  // namespace

std::string lean_string_repr(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

std::string io_error_message(int err, const std::string& file) {
  // Lean's runtime (decode_io_error) picks the IO.Error constructor by errno;
  // IO.Error.toString words each as below (`details` is strerror).
  std::string details = std::strerror(err), code = std::to_string(err);
  auto with_file = [&](const std::string& gist, bool show_details) {
    return down_case_first(gist) + " (error code: " + code + (show_details ? ", " + down_case_first(details) : "") +
           ")\n  file: " + file;
  };
  switch (err) {
    case ENOENT: return with_file("no such file or directory", false);
    case EACCES: case EROFS: case EPERM: case EFBIG: case ECONNABORTED: return with_file(details, false);
    case EISDIR: case ENOTDIR: case EBADMSG: return with_file("inappropriate type", true);
    case ENOSPC: case EMFILE: case ENFILE: case ENOMEM: return with_file("resource exhausted", true);
    case EEXIST: return with_file("already exists", true);
    case EINVAL: case ENAMETOOLONG: case ELOOP: case EBADF: return with_file("invalid argument", true);
    default: return down_case_first(details) + " (error code: " + code + ")";
  }
}

std::optional<IoOutcome> eval_io(const std::string& src, bool run) {
  Cursor c{src};
  std::string fn = c.ident();
  if (fn != "IO.FS.writeFile" && fn != "IO.FS.readFile" && fn != "IO.Process.run") return std::nullopt;
  if (fn == "IO.FS.writeFile") {
    std::string path = c.str(), text = c.str();
    if (c.bad || !c.done()) return error("IO.FS.writeFile: expected a path and a text (string literals)");
    if (!run) return IoOutcome{0, ""};
    errno = 0;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return error(io_error_message(errno ? errno : EIO, path));
    f << text;
    f.close();
    if (!f) return error(io_error_message(errno ? errno : EIO, path));
    return IoOutcome{0, ""};  // Unit: Lean logs nothing
  }
  if (fn == "IO.FS.readFile") {
    std::string path = c.str();
    if (c.bad || !c.done()) return error("IO.FS.readFile: expected a path (a string literal)");
    if (!run) return IoOutcome{0, ""};
    errno = 0;
    std::ifstream f(path, std::ios::binary);
    if (!f) return error(io_error_message(errno ? errno : EIO, path));
    std::ostringstream ss;
    ss << f.rdbuf();
    return string_value(ss.str());
  }
  // IO.Process.run { cmd := "…", args := #["…", …] }
  std::string cmd;
  std::vector<std::string> args;
  c.expect("{");
  while (!c.bad && !c.sym("}")) {
    std::string field = c.ident();
    c.expect(":=");
    if (field == "cmd") {
      cmd = c.str();
    } else if (field == "args") {
      c.expect("#[");
      while (!c.bad && !c.sym("]")) {
        args.push_back(c.str());
        if (!c.sym(",") && !c.sym("]")) c.bad = true;
        else if (src[c.i - 1] == ']') break;
      }
    } else {
      c.bad = true;
    }
    if (!c.bad) c.sym(",");
  }
  if (c.bad || cmd.empty() || !c.done())
    return error("IO.Process.run: expected { cmd := \"…\", args := #[\"…\", …] }");
  if (!run) return IoOutcome{0, ""};
  return run_process(cmd, args);
}

}  // namespace leansim
