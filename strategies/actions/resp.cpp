#include "strategies/actions/resp.hpp"

#include <sstream>

#include <fmt/format.h>

namespace switchyard::resp {

std::string encode(const std::vector<std::string>& args) {
  auto out = fmt::format("*{}\r\n", args.size());
  for (const auto& a : args)
    out += fmt::format("${}\r\n{}\r\n", a.size(), a);
  return out;
}

std::optional<reply> parse(const std::string& buf, std::size_t& pos) {
  auto eol = buf.find("\r\n", pos);
  if (eol == std::string::npos)
    return std::nullopt;
  reply r;
  r.type = buf[pos];
  auto line = buf.substr(pos + 1, eol - pos - 1);
  pos = eol + 2;
  switch (r.type) {
  case '+':
  case '-':
  case ':':
    r.text = line;
    return r;
  case '$': {
    auto len = std::stol(line);
    if (len < 0)
      return r; // null bulk
    auto n = static_cast<std::size_t>(len);
    if (buf.size() < pos + n + 2)
      return std::nullopt;
    r.text = buf.substr(pos, n);
    pos += n + 2;
    return r;
  }
  case '*': {
    auto count = std::stol(line);
    for (long i = 0; i < count; ++i) {
      auto item = parse(buf, pos);
      if (!item)
        return std::nullopt;
      r.items.push_back(std::move(*item));
    }
    return r;
  }
  default:
    r.type = '-';
    r.text = "unexpected reply: " + line;
    return r;
  }
}

std::map<std::string, std::string> info_fields(const std::string& info) {
  std::map<std::string, std::string> fields;
  std::istringstream in(info);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line.front() == '#')
      continue;
    auto colon = line.find(':');
    if (colon != std::string::npos)
      fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return fields;
}

} // namespace switchyard::resp
