// "did you mean ...?" for an unknown command of the CLI: pure, no CLI11.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace switchyard::cli {

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`.
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The command `word` most likely meant, among `commands` (full paths such as
/// "services", "plans export", "site assess"): one whose last word is `word`
/// (the shortest such path), else the closest by edit distance of its last
/// word when that distance is small (at most 2, and less than half of
/// `word`). "" when none is close.
std::string closest_command(const std::string& word, const std::vector<std::string>& commands);

} // namespace switchyard::cli
