// SHA-256 over OpenSSL's EVP interface, incremental.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace leanproxy::cache {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(std::string_view bytes);
  /// Feeds a length-prefixed field, so that ("ab","c") and ("a","bc") differ.
  Sha256& field(std::string_view bytes);
  std::array<std::uint8_t, 32> digest();
  std::string hex_digest();

 private:
  void* ctx_;
};

std::string sha256_hex(std::string_view bytes);
std::string to_hex(const std::uint8_t* data, std::size_t n);

}  // namespace leanproxy::cache
