// A strict check of Prometheus text exposition (format 0.0.4) as switchyardd
// renders it: every line is a HELP, a TYPE or a well-formed sample; every
// sample belongs to a family announced by TYPE (histograms through their
// _bucket/_sum/_count); HELP/TYPE appear once per family. Returns the problems
// found, empty when the text is fine.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::test {

inline bool exposition_name_ok(std::string_view n) {
  if (n.empty())
    return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto c = static_cast<unsigned char>(n[i]);
    if (!(std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c))))
      return false;
  }
  return true;
}

inline bool exposition_value_ok(std::string_view v) {
  if (v == "+Inf" || v == "-Inf" || v == "NaN")
    return true;
  std::string s{v};
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

/// Parses the label block starting at text[i] == '{'; advances i past '}'.
inline bool exposition_labels_ok(std::string_view text, std::size_t& i) {
  ++i; // '{'
  while (i < text.size() && text[i] != '}') {
    auto start = i;
    while (i < text.size() && text[i] != '=')
      ++i;
    if (i >= text.size() || !exposition_name_ok(text.substr(start, i - start)))
      return false;
    ++i;
    if (i >= text.size() || text[i] != '"')
      return false;
    ++i;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\') {
        if (i + 1 >= text.size())
          return false;
        char e = text[i + 1];
        if (e != '\\' && e != '"' && e != 'n')
          return false;
        ++i;
      }
      ++i;
    }
    if (i >= text.size())
      return false;
    ++i; // closing quote
    if (i < text.size() && text[i] == ',')
      ++i;
  }
  if (i >= text.size())
    return false;
  ++i; // '}'
  return true;
}

inline std::vector<std::string> check_exposition(std::string_view text) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;
  std::set<std::string> helps;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      problems.push_back("last line not terminated by a newline");
      nl = text.size();
    }
    auto line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty())
      continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      auto name = std::string{rest.substr(0, sp)};
      if (!exposition_name_ok(name))
        problems.push_back("bad family name: " + std::string{line});
      if (line[2] == 'H') {
        if (!helps.insert(name).second)
          problems.push_back("HELP twice: " + name);
      } else {
        auto type = sp == std::string_view::npos ? std::string{} : std::string{rest.substr(sp + 1)};
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped")
          problems.push_back("bad TYPE: " + std::string{line});
        if (!types.emplace(name, type).second)
          problems.push_back("TYPE twice: " + name);
      }
      continue;
    }
    if (line.starts_with("#"))
      continue;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    auto name = std::string{line.substr(0, i)};
    if (!exposition_name_ok(name)) {
      problems.push_back("bad sample name: " + std::string{line});
      continue;
    }
    if (i < line.size() && line[i] == '{' && !exposition_labels_ok(line, i)) {
      problems.push_back("bad labels: " + std::string{line});
      continue;
    }
    if (i >= line.size() || line[i] != ' ' || !exposition_value_ok(line.substr(i + 1))) {
      problems.push_back("bad value: " + std::string{line});
      continue;
    }
    auto family = name;
    if (!types.contains(family)) {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix)) {
          auto base = name.substr(0, name.size() - suffix.size());
          if (types.contains(base) && types[base] == "histogram")
            family = base;
        }
      }
    }
    if (!types.contains(family))
      problems.push_back("sample without TYPE: " + std::string{line});
  }
  return problems;
}

} // namespace switchyard::test
