// Internal to backups/: SHA-256 through OpenSSL's EVP interface, fed in pieces
// (artifacts, archives, files) or at once (a Redis value's DUMP).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

struct evp_md_ctx_st;

namespace switchyard::backups::detail {

class sha256_hasher {
public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;
  void update(const char* data, std::size_t n);
  /// The sum in lowercase hex; an error if OpenSSL failed on the way.
  [[nodiscard]] caf::expected<std::string> hex();
  /// The same, empty when OpenSSL failed (a sum that then matches nothing).
  std::string hex_or_empty();

private:
  evp_md_ctx_st* ctx_;
  bool ok_ = false;
};

/// The SHA-256 of `bytes` in lowercase hex.
std::string sha256_hex(std::string_view bytes);

} // namespace switchyard::backups::detail
