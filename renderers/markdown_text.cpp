// The Markdown text pieces shared by every document switchyard writes.
#include "renderers/markdown_text.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace switchyard::renderers {

std::string human_duration(std::int64_t ms) {
  if (ms <= 0)
    return fmt::format("{} ms", ms);
  constexpr std::array<std::pair<std::int64_t, const char*>, 4> units{
      {{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}}};
  std::string out;
  for (const auto& [size, unit] : units) {
    if (ms >= size) {
      out += fmt::format("{}{} {}", out.empty() ? "" : " ", ms / size, unit);
      ms %= size;
    }
  }
  return out;
}

std::string table_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::size_t longest_backtick_run(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

std::string code_span(std::string_view text) {
  std::string fence(longest_backtick_run(text) + 1, '`');
  bool pad = !text.empty() && (text.front() == '`' || text.back() == '`' ||
                               (text.front() == ' ' && text.back() == ' '));
  auto space = pad ? " " : "";
  return fmt::format("{}{}{}{}{}", fence, space, text, space, fence);
}

} // namespace switchyard::renderers
