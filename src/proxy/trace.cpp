// JSONL session transcripts.
#include "leanproxy/proxy/trace.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <unistd.h>

#include "leanproxy/protocol/json_scan.hpp"

namespace leanproxy::proxy {
namespace {
long long now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::unique_ptr<TraceWriter> TraceWriter::open(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create trace directory '" + dir + "': " + ec.message();
    return nullptr;
  }
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::unique_ptr<TraceWriter> w(new TraceWriter);
  w->path_ = dir + "/trace-" + stamp + "-" + std::to_string(::getpid()) + ".jsonl";
  w->file_ = std::fopen(w->path_.c_str(), "ae");
  if (!w->file_) {
    error = "cannot open trace file '" + w->path_ + "': " + std::strerror(errno);
    return nullptr;
  }
  w->start_us_ = now_us();
  return w;
}

TraceWriter::~TraceWriter() {
  if (file_) std::fclose(file_);
}

void TraceWriter::write(std::string_view direction, std::string_view body) {
  std::string line = "{\"t_us\":" + std::to_string(now_us() - start_us_) + ",\"dir\":";
  json::append_string(line, direction);
  line += ",\"msg\":";
  if (json::validate(body)) {
    // Raw newlines in valid JSON can only be whitespace between tokens.
    std::size_t at = line.size();
    line.append(body);
    for (std::size_t i = at; i < line.size(); ++i)
      if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  } else {
    line += "{\"invalid\":";
    json::append_string(line, body);
    line += "}";
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace leanproxy::proxy
