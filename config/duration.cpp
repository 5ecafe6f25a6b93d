// Duration syntax of the configuration: "250ms", "2s", "1m", "1h", "1m30s", "90d".
#include <cctype>

#include "config/loader.hpp"

namespace switchyard::config {

namespace {

// About 31 years: far beyond any sensible setting, far below overflow however
// many parts a value has.
constexpr long long max_total = 1'000'000'000'000LL;

} // namespace

bool parse_duration(const std::string& text, milliseconds& out) {
  if (text.empty())
    return false;
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])))
      return false;
    long long value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > 1'000'000'000LL)
        return false;
      ++i;
    }
    std::string unit;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
      unit += text[i++];
    if (unit == "ms")
      total += value;
    else if (unit == "s")
      total += value * 1000;
    else if (unit == "m")
      total += value * 60'000;
    else if (unit == "h")
      total += value * 3'600'000;
    else if (unit == "d")
      total += value * 86'400'000;
    else
      return false; // missing or unknown unit
    if (total > max_total)
      return false;
  }
  out = milliseconds{total};
  return true;
}

} // namespace switchyard::config
