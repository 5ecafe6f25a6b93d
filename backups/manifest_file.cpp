// A directory manifest as a text file: one line per file,
// "<mode octal> <size> <sha256> <path>", the path percent-escaped ('%',
// newline, carriage return), written to a temporary name and renamed.
#include <cstdio>
#include <exception>
#include <fstream>

#include <fmt/format.h>

#include "backups/directory_archive.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

std::string escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '%' || c == '\n' || c == '\r')
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

bool unescape(const std::string& text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size())
      return false;
    auto hex = text.substr(i + 1, 2);
    if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return false;
    out += static_cast<char>(std::stoi(hex, nullptr, 16));
    i += 2;
  }
  return true;
}

} // namespace

caf::expected<void> save_manifest(const manifest& m, const std::string& path) {
  auto partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    for (const auto& e : m)
      out << fmt::format("{:o} {} {} {}\n", e.mode, e.size, e.sha256, escape(e.path));
    out.close();
    if (!out) {
      std::remove(partial.c_str());
      return make_sy_error(sy_errc::backup_failed, "cannot write the manifest " + partial);
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return make_sy_error(sy_errc::backup_failed, "cannot write the manifest " + path);
  }
  return {};
}

caf::expected<manifest> load_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return make_sy_error(sy_errc::not_found, "no manifest at " + path);
  manifest m;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    manifest_entry e;
    auto a = line.find(' ');
    auto b = a == std::string::npos ? a : line.find(' ', a + 1);
    auto c = b == std::string::npos ? b : line.find(' ', b + 1);
    if (c == std::string::npos || !unescape(line.substr(c + 1), e.path))
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("{}:{}: not a manifest line", path, number));
    try {
      e.mode = static_cast<std::uint32_t>(std::stoul(line.substr(0, a), nullptr, 8));
      e.size = std::stoull(line.substr(a + 1, b - a - 1));
    } catch (const std::exception&) {
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("{}:{}: not a manifest line", path, number));
    }
    e.sha256 = line.substr(b + 1, c - b - 1);
    m.push_back(std::move(e));
  }
  return m;
}

} // namespace switchyard::backups
