#include "observability/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace switchyard::metrics {

// -- counter / gauge ----------------------------------------------------------

void counter::inc(double v) {
  if (v < 0 || std::isnan(v))
    return; // a counter never goes down
  value_.fetch_add(v, std::memory_order_relaxed);
}

double counter::value() const {
  return value_.load(std::memory_order_relaxed);
}

void gauge::set(double v) {
  value_.store(v, std::memory_order_relaxed);
}

void gauge::add(double v) {
  value_.fetch_add(v, std::memory_order_relaxed);
}

double gauge::value() const {
  return value_.load(std::memory_order_relaxed);
}

// -- histogram ----------------------------------------------------------------

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::erase_if(bounds_, [](double b) { return std::isnan(b) || std::isinf(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double value) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  auto idx = static_cast<std::size_t>(it - bounds_.begin());
  counts_[idx].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::uint64_t histogram::count() const {
  return count_.load(std::memory_order_relaxed);
}

double histogram::sum() const {
  return sum_.load(std::memory_order_relaxed);
}

std::vector<double> default_seconds_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

// -- formatting ---------------------------------------------------------------

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\n':
      out += "\\n";
      break;
    default:
      out += c;
    }
  }
  return out;
}

namespace {

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

bool valid_name(std::string_view n, bool allow_colon) {
  if (n.empty())
    return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

std::string label_key(const labels& l) {
  // Unambiguous: names cannot contain '\x1f'/'\x1e' (validated), values are escaped.
  std::string key;
  for (const auto& [n, v] : l) {
    key += n;
    key += '\x1f';
    key += escape_label_value(v);
    key += '\x1e';
  }
  return key;
}

void append_labels(std::string& out, const labels& l, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (l.empty() && extra_name.empty())
    return;
  out += '{';
  bool first = true;
  for (const auto& [n, v] : l) {
    if (!first)
      out += ',';
    first = false;
    out += n;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first)
      out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

} // namespace

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// -- registry -----------------------------------------------------------------

struct registry::series {
  labels label_set;
  std::unique_ptr<counter> c;
  std::unique_ptr<gauge> g;
  std::unique_ptr<histogram> h;
};

struct registry::family {
  kind type = kind::counter;
  std::string help;
  std::vector<double> buckets;
  std::map<std::string, std::unique_ptr<series>> members; // by label key
};

registry::registry() = default;
registry::~registry() = default;

gauge& mailbox_depth(registry& r, std::string_view actor) {
  return r.gauge_for("switchyard_mailbox_depth",
                     "Messages waiting in an actor's mailbox when last sampled.",
                     {{"actor", std::string(actor)}});
}

registry::series& registry::lookup(kind k, std::string_view name, std::string_view help,
                                   const labels& l, std::vector<double>* buckets) {
  if (!valid_name(name, true))
    throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
  for (const auto& [n, v] : l) {
    if (!valid_name(n, false) || n.starts_with("__") || (k == kind::histogram && n == "le"))
      throw std::invalid_argument(fmt::format("invalid label name '{}' for metric '{}'", n, name));
  }
  std::lock_guard guard{mtx_};
  auto fit = families_.find(name);
  if (fit == families_.end()) {
    auto fam = std::make_unique<family>();
    fam->type = k;
    fam->help = std::string{help};
    if (buckets != nullptr)
      fam->buckets = *buckets;
    fit = families_.emplace(std::string{name}, std::move(fam)).first;
  } else if (fit->second->type != k) {
    throw std::logic_error(
        fmt::format("metric '{}' is already registered with another type", name));
  }
  auto& fam = *fit->second;
  auto key = label_key(l);
  auto sit = fam.members.find(key);
  if (sit == fam.members.end()) {
    auto s = std::make_unique<series>();
    s->label_set = l;
    switch (k) {
    case kind::counter:
      s->c = std::make_unique<counter>();
      break;
    case kind::gauge:
      s->g = std::make_unique<gauge>();
      break;
    case kind::histogram:
      s->h = std::make_unique<histogram>(fam.buckets);
      break;
    }
    sit = fam.members.emplace(std::move(key), std::move(s)).first;
  }
  return *sit->second;
}

counter& registry::counter_for(std::string_view name, std::string_view help, const labels& l) {
  return *lookup(kind::counter, name, help, l, nullptr).c;
}

gauge& registry::gauge_for(std::string_view name, std::string_view help, const labels& l) {
  return *lookup(kind::gauge, name, help, l, nullptr).g;
}

histogram& registry::histogram_for(std::string_view name, std::string_view help, const labels& l,
                                   std::vector<double> buckets) {
  return *lookup(kind::histogram, name, help, l, &buckets).h;
}

void registry::remove(std::string_view name, const labels& l) {
  std::lock_guard guard{mtx_};
  auto fit = families_.find(name);
  if (fit == families_.end())
    return;
  auto sit = fit->second->members.find(label_key(l));
  if (sit == fit->second->members.end())
    return;
  retired_.push_back(std::move(sit->second));
  fit->second->members.erase(sit);
}

std::size_t registry::series_count() const {
  std::lock_guard guard{mtx_};
  std::size_t n = 0;
  for (const auto& [name, fam] : families_)
    n += fam->members.size();
  return n;
}

std::string registry::render() const {
  std::string out;
  std::lock_guard guard{mtx_};
  for (const auto& [name, fam] : families_) {
    if (fam->members.empty())
      continue;
    out += "# HELP ";
    out += name;
    out += ' ';
    out += escape_help(fam->help);
    out += "\n# TYPE ";
    out += name;
    switch (fam->type) {
    case kind::counter:
      out += " counter\n";
      break;
    case kind::gauge:
      out += " gauge\n";
      break;
    case kind::histogram:
      out += " histogram\n";
      break;
    }
    for (const auto& [key, s] : fam->members) {
      if (fam->type == kind::histogram) {
        const auto& h = *s->h;
        auto counts = h.cumulative_counts();
        const auto& bounds = h.upper_bounds();
        for (std::size_t i = 0; i < counts.size(); ++i) {
          out += name;
          out += "_bucket";
          auto le = i < bounds.size() ? format_value(bounds[i]) : std::string{"+Inf"};
          append_labels(out, s->label_set, "le", le);
          out += ' ';
          out += std::to_string(counts[i]);
          out += '\n';
        }
        out += name;
        out += "_sum";
        append_labels(out, s->label_set);
        out += ' ';
        out += format_value(h.sum());
        out += '\n';
        out += name;
        out += "_count";
        append_labels(out, s->label_set);
        out += ' ';
        // _count equals the +Inf bucket of the same snapshot.
        out += std::to_string(counts.back());
        out += '\n';
      } else {
        out += name;
        append_labels(out, s->label_set);
        out += ' ';
        out += format_value(fam->type == kind::counter ? s->c->value() : s->g->value());
        out += '\n';
      }
    }
  }
  return out;
}

} // namespace switchyard::metrics
