// Helpers shared by the libFuzzer targets: a checked assertion that leaves a
// crash artifact, and a deterministic pseudo-random stream derived from the
// input (so chunkings and variants are reproducible from the input alone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

/// Aborts (libFuzzer then saves the input) when `cond` is false. Never
/// compiled out: an invariant the fuzzer checks is the point of the target.
#define FUZZ_CHECK(cond, what)                                                                  \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                  \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace fuzz {

/// FNV-1a over the input: the seed of the derived random stream.
inline std::uint64_t hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// splitmix64: a small deterministic generator.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform-ish in [0, n); 0 when n == 0.
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  bool coin() { return next() & 1; }

 private:
  std::uint64_t s_;
};

/// A short printable rendering of bytes for check messages.
inline std::string show(std::string_view s, std::size_t max = 200) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s.substr(0, max)) {
    if (c == '\\' || c == '"') { out += '\\'; out += static_cast<char>(c); }
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else { out += "\\x"; out += hex[c >> 4]; out += hex[c & 15]; }
  }
  out += '"';
  if (s.size() > max) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace fuzz
