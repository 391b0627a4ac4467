// file:// URIs: encoding as editors do, decoding whatever a client sends.
#include <doctest/doctest.h>

#include "leanproxy/util/uri.hpp"

using leanproxy::util::file_uri;
using leanproxy::util::uri_path;

TEST_CASE("file URIs: reserved bytes escaped, the path read back") {
  CHECK(file_uri("/a/B c#d%e.lean") == "file:///a/B%20c%23d%25e.lean");
  CHECK(file_uri("/é/x-y_z.~") == "file:///é/x-y_z.~");
  for (const char* p : {"/a/B c#d%e.lean", "/é/x", "/", "/a?b&c=d"}) CHECK(uri_path(file_uri(p)) == p);
  CHECK(uri_path("file:///D%C3%A9%20mo.lean") == "/Dé mo.lean");  // VS Code escapes non-ASCII too
  CHECK(uri_path("file:///a%2fb") == "/a/b");
}

TEST_CASE("file URIs: malformed escapes and other schemes never throw") {
  CHECK(uri_path("file:///a%zz") == "/a%zz");
  CHECK(uri_path("file:///a%4") == "/a%4");
  CHECK(uri_path("file:///a%") == "/a%");
  CHECK(uri_path("file:///a%g1%41") == "/a%g1A");
  CHECK(uri_path("untitled:Untitled-1").empty());
  CHECK(uri_path("").empty());
  CHECK(uri_path("file://") == "");
}
