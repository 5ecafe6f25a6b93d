#include "backups/sha256.hpp"

#include <iterator>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "messages/error.hpp"

namespace switchyard::backups::detail {

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
}

sha256_hasher::~sha256_hasher() {
  EVP_MD_CTX_free(ctx_);
}

void sha256_hasher::update(const char* data, std::size_t n) {
  if (ok_ && n > 0)
    ok_ = EVP_DigestUpdate(ctx_, data, n) == 1;
}

caf::expected<std::string> sha256_hasher::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_, md, &len) != 1)
    return make_sy_error(sy_errc::backup_failed, "backup: OpenSSL could not compute a SHA-256");
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i)
    fmt::format_to(std::back_inserter(out), "{:02x}", md[i]);
  return out;
}

std::string sha256_hasher::hex_or_empty() {
  auto sum = hex();
  return sum ? *sum : std::string{};
}

std::string sha256_hex(std::string_view bytes) {
  sha256_hasher h;
  h.update(bytes.data(), bytes.size());
  return h.hex_or_empty();
}

} // namespace switchyard::backups::detail
