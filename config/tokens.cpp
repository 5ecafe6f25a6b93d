#include "config/tokens.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config/file_read.hpp"
#include "config/yaml_reader.hpp"

namespace switchyard::config {

const char* to_string(api_role r) {
  switch (r) {
  case api_role::viewer:
    return "viewer";
  case api_role::operator_:
    return "operator";
  case api_role::admin:
    return "admin";
  }
  return "?";
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

std::optional<api_token> find_token(const std::vector<api_token>& tokens,
                                    const std::string& presented) {
  auto hash = sha256_hex(presented);
  std::optional<api_token> found;
  // Compare against every entry so timing does not tell which one matched.
  for (const auto& t : tokens)
    if (t.sha256_hex.size() == hash.size() &&
        CRYPTO_memcmp(t.sha256_hex.data(), hash.data(), hash.size()) == 0)
      found = t;
  return found;
}

tokens_result load_tokens_file(const std::string& path) {
  tokens_result result;
  std::string text;
  if (auto err = read_whole_file(path, text, max_tokens_file_bytes)) {
    result.errors.push_back(std::move(*err));
    return result;
  }
  yaml_reader r{path, result.errors};
  try {
    auto root = YAML::Load(text);
    if (!r.expect_map(root, "(top level)"))
      return result;
    r.check_keys(root, "", {"tokens"});
    if (!r.require(root, "tokens", "") || !r.expect_sequence(root["tokens"], "tokens"))
      return result;
    auto list = root["tokens"];
    std::map<std::string, std::string> names; // name -> field of first use
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto f = index("tokens", i);
      auto node = list[i];
      if (!r.expect_map(node, f))
        continue;
      r.check_keys(node, f, {"name", "role", "sha256"});
      api_token t;
      if (r.require(node, "name", f) && r.read(node, "name", join(f, "name"), t.name)) {
        if (t.name.empty())
          r.fail(node["name"], join(f, "name"),
                 "must not be empty (it names the caller in the audit trail)");
        else if (auto [it, fresh] = names.emplace(t.name, join(f, "name")); !fresh)
          r.fail(node["name"], join(f, "name"),
                 "'" + t.name + "' is already used by " + it->second);
      }
      if (r.require(node, "role", f))
        r.read_enum(node, "role", join(f, "role"), t.role,
                    {{"viewer", api_role::viewer},
                     {"operator", api_role::operator_},
                     {"admin", api_role::admin}});
      if (r.require(node, "sha256", f)) {
        r.read(node, "sha256", join(f, "sha256"), t.sha256_hex);
        if (t.sha256_hex.size() != 64 ||
            t.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos)
          r.fail(node["sha256"], join(f, "sha256"),
                 "must be 64 lowercase hex digits: the SHA-256 of the token "
                 "(switchyardd --hash-token reads a token on stdin and prints it)");
      }
      result.tokens.push_back(std::move(t));
    }
  } catch (const YAML::ParserException& e) {
    result.errors.push_back(
        config_error{{path, e.mark.line + 1, e.mark.column + 1}, "(syntax)", e.msg});
  } catch (const YAML::Exception& e) {
    result.errors.push_back(config_error{{path, 0, 0}, "(yaml)", e.what()});
  } catch (const std::exception& e) {
    result.errors.push_back(config_error{{path, 0, 0}, "(file)", e.what()});
  }
  return result;
}

} // namespace switchyard::config
