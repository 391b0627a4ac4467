// file:// URI encoding and decoding.
#include "leanproxy/util/uri.hpp"

#include <cstdio>

namespace leanproxy::util {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '-' ||
         c == '.' || c == '_' || c == '~' || c >= 0x80;
}

}  // namespace

std::string file_uri(std::string_view path) {
  std::string out = "file://";
  out.reserve(out.size() + path.size());
  for (unsigned char c : path) {
    if (plain(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string uri_path(std::string_view uri) {
  constexpr std::string_view scheme = "file://";
  if (uri.substr(0, scheme.size()) != scheme) return {};
  std::string out;
  out.reserve(uri.size() - scheme.size());
  for (std::size_t i = scheme.size(); i < uri.size(); ++i) {
    int hi = uri[i] == '%' && i + 2 < uri.size() ? hex_digit(uri[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(uri[i + 2]) : -1;
    if (lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(uri[i]);
    }
  }
  return out;
}

}  // namespace leanproxy::util
