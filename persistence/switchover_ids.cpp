#include "persistence/switchover_ids.hpp"

#include <algorithm>

namespace switchyard::persistence {

void switchover_ids::seen(std::int64_t highest) {
  std::lock_guard<std::mutex> guard{mtx_};
  last_ = std::max(last_, highest);
  opened_ = true;
}

void switchover_ids::restart() {
  std::lock_guard<std::mutex> guard{mtx_};
  last_ = 0;
  opened_ = true;
}

std::int64_t switchover_ids::next() {
  std::lock_guard<std::mutex> guard{mtx_};
  return ++last_;
}

std::int64_t switchover_ids::reserve() {
  std::lock_guard<std::mutex> guard{mtx_};
  return opened_ ? ++last_ : 0;
}

} // namespace switchyard::persistence
