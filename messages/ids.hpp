// Strong types for the identifiers that travel between actors, so a service
// name can never be passed where an instance name is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <caf/meta/type_name.hpp>

namespace switchyard {

/// A value of type T that only compares with values of the same Tag.
template <class Tag, class T> struct strong_value {
  using value_type = T;
  T value{};

  strong_value() = default;
  explicit strong_value(T v) : value(std::move(v)) {}

  friend auto operator<=>(const strong_value&, const strong_value&) = default;
  friend bool operator==(const strong_value&, const strong_value&) = default;
};

template <class Inspector, class Tag, class T>
typename Inspector::result_type inspect(Inspector& f, strong_value<Tag, T>& x) {
  return f(caf::meta::type_name(Tag::name), x.value);
}

struct service_id_tag {
  static inline const char* const name = "service_id";
};
struct instance_id_tag {
  static inline const char* const name = "instance_id";
};
struct switchover_id_tag {
  static inline const char* const name = "switchover_id";
};
struct detection_id_tag {
  static inline const char* const name = "detection_id";
};
struct step_id_tag {
  static inline const char* const name = "step_id";
};
struct epoch_tag {
  static inline const char* const name = "epoch";
};

/// Name of a service as written in the configuration (e.g. "orders-db").
using service_id = strong_value<service_id_tag, std::string>;
/// Name of one instance of a service (e.g. "orders-db-a").
using instance_id = strong_value<instance_id_tag, std::string>;
/// Row id of a switchover (planned or automatic failover) in the store.
using switchover_id = strong_value<switchover_id_tag, std::int64_t>;
/// Row id of a persisted failure detection.
using detection_id = strong_value<detection_id_tag, std::int64_t>;
/// Row id of one journaled step of a switchover.
using step_id = strong_value<step_id_tag, std::int64_t>;
/// Fencing number of a service: increases by one with every change of primary.
using epoch = strong_value<epoch_tag, std::uint64_t>;

} // namespace switchyard

template <class Tag, class T> struct std::hash<switchyard::strong_value<Tag, T>> {
  std::size_t operator()(const switchyard::strong_value<Tag, T>& x) const noexcept {
    return std::hash<T>{}(x.value);
  }
};
