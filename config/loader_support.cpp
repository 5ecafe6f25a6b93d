// The value readers every section of the configuration shares: names,
// decimal numbers (shares, fractions, percentages), addresses and paths.
#include "config/loader_support.hpp"

#include <charconv>
#include <filesystem>
#include <regex>
#include <system_error>

namespace switchyard::config::detail {

namespace {

const std::regex name_pattern{"[a-z0-9][a-z0-9_.-]{0,62}"};

// A host name or IPv4 address; an IPv6 address (with an optional %zone) only
// inside brackets, so the port separator is never ambiguous.
bool valid_host(const std::string& host, bool bracketed) {
  const std::string name_chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
  if (host.empty())
    return false;
  if (!bracketed)
    return host.find_first_not_of(name_chars) == std::string::npos;
  auto zone = host.find('%');
  auto address = host.substr(0, zone);
  return address.find(':') != std::string::npos &&
         address.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos &&
         (zone == std::string::npos ||
          (zone + 1 < host.size() &&
           host.find_first_not_of(name_chars, zone + 1) == std::string::npos));
}

} // namespace

bool valid_name(const std::string& s) {
  return std::regex_match(s, name_pattern);
}

void read_name(yaml_reader& r, const YAML::Node& map, const std::string& field, std::string& out) {
  read_name(r, map, "name", field, out);
}

bool read_name(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
               std::string& out) {
  if (!r.require(map, key, field))
    return false;
  if (!r.read(map, key, join(field, key), out))
    return false;
  if (valid_name(out))
    return true;
  r.fail(map[key], join(field, key),
         "'" + out +
             "' is not a valid name (lowercase letters, digits, '_', '.', '-'; "
             "starts with a letter or digit; at most 63 characters)");
  return false;
}

// The whole of `text` as a decimal number (8, 8.5, 0.25), if it is one.
std::optional<double> decimal_of(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end)
    return std::nullopt;
  return value;
}

// A share of a whole: a number greater than 0 and at most 1 (0.5, 1, 0.75).
bool read_share(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                double& out) {
  return read_decimal(
      r, map, key, field, out, false, false, [](double v) { return v > 0.0 && v <= 1.0; },
      "a share: a number greater than 0 and at most 1 (e.g. 0.5)");
}

// A decimal number within [min, max] (8, 8.5, 0.25); `range` says so in words.
bool read_number(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                 double& out, double min, double max, const char* range) {
  return read_decimal(
      r, map, key, field, out, false, false, [min, max](double v) { return v >= min && v <= max; },
      range);
}

// A fraction written as a share (0.05) or a percentage (5%), within [0, 1).
bool read_fraction(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                   double& out) {
  return read_decimal(
      r, map, key, field, out, true, true, [](double v) { return v >= 0.0 && v < 1.0; },
      "a share below 1 (0.05) or a percentage below 100% (5%)");
}

// "host:port", "[v6]:port"
bool split_address(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (!valid_host(host, bracketed) || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto value = std::stoul(port_text);
  if (value < 1 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// A listener's "host:port"; port 0 (pick a free one) is valid here.
bool valid_listen_address(const std::string& listen) {
  std::string host;
  std::uint16_t port = 0;
  // Check the host with any valid port in place of 0.
  auto colon = listen.rfind(':');
  auto checked = listen;
  if (colon != std::string::npos && listen.substr(colon + 1) == "0")
    checked = listen.substr(0, colon) + ":1";
  return split_address(checked, host, port);
}

// `path` as resolve_paths() will make it: relative paths resolve against the config file's folder.
std::string resolve_against(const std::string& config_file, const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || fs::path(path).is_absolute())
    return path;
  std::error_code ec;
  auto file = fs::absolute(fs::path(config_file), ec);
  if (ec)
    file = config_file;
  return (file.parent_path() / path).lexically_normal().string();
}

} // namespace switchyard::config::detail
