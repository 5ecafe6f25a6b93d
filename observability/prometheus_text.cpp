#include "observability/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace switchyard::actors {

namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

bool blank(char c) {
  return c == ' ' || c == '\t';
}

// A cursor over one line; every reader returns false (and leaves `why`) on a malformed line.
struct line_reader {
  std::string_view s;
  std::size_t i = 0;
  std::string why;

  bool done() const { return i >= s.size(); }
  void skip_blanks() {
    while (!done() && blank(s[i]))
      ++i;
  }
  bool fail(std::string reason) {
    why = std::move(reason);
    return false;
  }

  bool name(std::string& out, bool metric) {
    auto start = i;
    if (done() || !name_start(s[i]) || (!metric && s[i] == ':'))
      return fail("expected a name");
    while (!done() && name_char(s[i]) && (metric || s[i] != ':'))
      ++i;
    out.assign(s.substr(start, i - start));
    return true;
  }

  // "value" with \\, \" and \n escapes.
  bool quoted(std::string& out) {
    if (done() || s[i] != '"')
      return fail("expected '\"' to open a label value");
    ++i;
    while (!done() && s[i] != '"') {
      char c = s[i++];
      if (c == '\\') {
        if (done())
          return fail("a label value ends in '\\'");
        char e = s[i++];
        out += e == 'n' ? '\n' : e; // \\ and \" stand for themselves
      } else {
        out += c;
      }
    }
    if (done())
      return fail("unterminated label value");
    ++i;
    return true;
  }

  bool labels(std::map<std::string, std::string>& out) {
    ++i; // '{'
    while (true) {
      skip_blanks();
      if (done())
        return fail("unterminated label set");
      if (s[i] == '}') {
        ++i;
        return true;
      }
      std::string key;
      std::string value;
      if (!name(key, false))
        return false;
      skip_blanks();
      if (done() || s[i] != '=')
        return fail("expected '=' after label " + key);
      ++i;
      skip_blanks();
      if (!quoted(value))
        return false;
      out[key] = std::move(value);
      skip_blanks();
      if (!done() && s[i] == ',')
        ++i; // a trailing comma is allowed
      else if (done() || s[i] != '}')
        return fail("expected ',' or '}' in the label set");
    }
  }

  bool number(double& out) {
    auto start = i;
    while (!done() && !blank(s[i]))
      ++i;
    auto text = s.substr(start, i - start);
    if (text.empty())
      return fail("missing value");
    if (text == "+Inf" || text == "Inf") {
      out = std::numeric_limits<double>::infinity();
      return true;
    }
    if (text == "-Inf") {
      out = -std::numeric_limits<double>::infinity();
      return true;
    }
    if (text == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (text.front() == '+')
      text.remove_prefix(1); // from_chars takes '-' but not '+'
    auto [stop, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc{} || stop != text.data() + text.size())
      return fail("'" + std::string(s.substr(start, i - start)) + "' is not a number");
    return true;
  }
};

// One sample line: name [{labels}] value [timestamp].
bool parse_sample(std::string_view line, prometheus_sample& out, std::string& why) {
  line_reader r{line, 0, {}};
  r.skip_blanks();
  if (!r.name(out.name, true) || (!r.done() && r.s[r.i] == '{' && !r.labels(out.labels))) {
    why = r.why;
    return false;
  }
  r.skip_blanks();
  if (!r.number(out.value)) {
    why = r.why;
    return false;
  }
  r.skip_blanks();
  if (!r.done()) {
    double timestamp = 0;
    if (!r.number(timestamp)) {
      why = "bad timestamp: " + r.why;
      return false;
    }
    r.skip_blanks();
    if (!r.done()) {
      why = "unexpected text after the timestamp";
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<double> prometheus_text::sum_of(std::string_view name) const {
  std::optional<double> sum;
  for (const auto& s : samples)
    if (s.name == name)
      sum = sum.value_or(0) + s.value;
  return sum;
}

prometheus_text parse_prometheus_text(std::string_view text) {
  prometheus_text out;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#')
      continue;
    prometheus_sample sample;
    std::string why;
    if (parse_sample(line, sample, why)) {
      out.samples.push_back(std::move(sample));
    } else {
      if (out.malformed++ == 0)
        out.first_error = "line " + std::to_string(line_no) + ": " + why;
    }
  }
  return out;
}

} // namespace switchyard::actors
