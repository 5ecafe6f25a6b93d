// Small text pieces shared by every Markdown document switchyard writes (the
// plan runbook, the site runbook, drill reports). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::renderers {

/// "1 h 2 m", "1 m 30 s", "12 s 345 ms", "0 ms": what an operator reads at a glance.
std::string human_duration(std::int64_t ms);

/// A table cell: `|` would end the cell and a line break the row.
std::string table_cell(std::string_view text);

/// The longest run of backticks in `text`.
std::size_t longest_backtick_run(std::string_view text);

/// A code span that survives backticks in `text`: the fence is one backtick
/// longer than the longest run inside (CommonMark), padded where needed.
std::string code_span(std::string_view text);

} // namespace switchyard::renderers
