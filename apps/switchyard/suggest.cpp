#include "apps/switchyard/suggest.hpp"

#include <algorithm>
#include <limits>

namespace switchyard::cli {

namespace {

std::string last_word(const std::string& path) {
  auto space = path.rfind(' ');
  return space == std::string::npos ? path : path.substr(space + 1);
}

} // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_command(const std::string& word, const std::vector<std::string>& commands) {
  std::string exact;
  for (const auto& c : commands)
    if (last_word(c) == word && (exact.empty() || c.size() < exact.size()))
      exact = c;
  if (!exact.empty())
    return exact;
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& c : commands) {
    auto d = edit_distance(word, last_word(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (best_distance <= 2 && 2 * best_distance < word.size())
    return best;
  return {};
}

} // namespace switchyard::cli
