// bare_relay: the floor under any LSP proxy, for relay_bench. It starts the
// server after `--` and copies bytes both ways in one poll loop (as the
// proxy's one I/O thread does), without framing, parsing or routing: what a
// relay costs when it does nothing but read and write.
//
//   bare_relay [ignored options] -- <server command...>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

// Bytes read from one side, waiting to be written to the other: written at
// once when nothing waits (as the proxy writes a read's messages), else
// queued behind what does. Never blocks, so neither side can deadlock the other.
struct Direction {
  Direction(int in, int out) : in(in), out(out) {}
  int in, out;
  std::vector<char> queue;
  std::size_t head = 0;  ///< queue[head..] waits to be written
  bool in_open = true;

  std::size_t waiting() const { return queue.size() - head; }

  // One write call, as the proxy makes one per batch: what does not fit waits
  // for POLLOUT. Returns false when the output side is gone.
  bool write_some(const char* p, std::size_t n, std::size_t& written) {
    ssize_t w = ::write(out, p, n);
    written = w > 0 ? static_cast<std::size_t>(w) : 0;
    return w >= 0 || errno == EAGAIN || errno == EINTR;
  }

  // Returns false when the output side is gone; a read error ends the input
  // as end of file does.
  bool on_readable(char* buf, std::size_t size) {
    ssize_t r = ::read(in, buf, size);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (r <= 0) {
      in_open = false;
      return true;
    }
    std::size_t n = static_cast<std::size_t>(r), written = 0;
    if (waiting() == 0 && !write_some(buf, n, written)) return false;
    queue.insert(queue.end(), buf + written, buf + n);
    return true;
  }

  bool on_writable() {
    std::size_t written = 0;
    if (!write_some(queue.data() + head, waiting(), written)) return false;
    head += written;
    if (head == queue.size()) queue.clear(), head = 0;
    return true;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int cmd = 1;
  while (cmd < argc && std::strcmp(argv[cmd], "--") != 0) ++cmd;
  if (++cmd >= argc) {
    std::fprintf(stderr, "usage: bare_relay [ignored options] -- <server command...>\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int to_server[2], from_server[2];
  if (::pipe(to_server) != 0 || ::pipe(from_server) != 0) return 1;
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    ::dup2(to_server[0], 0);
    ::dup2(from_server[1], 1);
    for (int fd : {to_server[0], to_server[1], from_server[0], from_server[1]}) ::close(fd);
    ::execvp(argv[cmd], argv + cmd);
    _exit(127);
  }
  ::close(to_server[0]);
  ::close(from_server[1]);
  Direction dirs[2] = {{0, to_server[1]}, {from_server[0], 1}};  // client -> server, server -> client
  for (int fd : {0, 1, to_server[1], from_server[0]}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETPIPE_SZ, 256 << 10);  // as the proxy widens its pipes (a 100 KB message in one write)
  }
  static char buf[64 * 1024];  // the proxy's read size
  Direction &up = dirs[0], &down = dirs[1];
  for (;;) {
    if (!down.in_open && down.waiting() == 0) break;  // the server's output ended and was delivered
    if (!up.in_open && up.waiting() == 0 && up.out >= 0) {
      ::close(up.out);  // the client's end of input reaches the server
      up.out = -1;
    }
    pollfd fds[4];
    int which[4];  // direction * 2 + (0: read, 1: write)
    nfds_t n = 0;
    for (int k = 0; k < 2; ++k) {
      if (dirs[k].in_open) fds[n] = {dirs[k].in, POLLIN, 0}, which[n++] = 2 * k;
      if (dirs[k].waiting() > 0) fds[n] = {dirs[k].out, POLLOUT, 0}, which[n++] = 2 * k + 1;
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      Direction& d = dirs[which[i] / 2];
      bool ok = which[i] % 2 == 0 ? d.on_readable(buf, sizeof buf) : d.on_writable();
      if (!ok) {
        if (&d == &down) return 1;  // the client is gone
        up.in_open = false, up.queue.clear(), up.head = 0;  // the server stopped reading
      }
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
