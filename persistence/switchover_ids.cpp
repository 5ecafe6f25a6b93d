#include "persistence/switchover_ids.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

namespace switchyard::persistence {

namespace {

// The same file, however its path was written.
std::string key_of(const std::string& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

struct registry {
  std::mutex mtx;
  std::map<std::string, std::shared_ptr<switchover_ids>> by_file;
};

registry& counters() {
  static registry r;
  return r;
}

} // namespace

std::shared_ptr<switchover_ids> switchover_ids::for_database(const std::string& path, bool fresh) {
  if (path.empty() || path == ":memory:")
    return std::make_shared<switchover_ids>();
  auto& r = counters();
  std::lock_guard<std::mutex> guard{r.mtx};
  auto& slot = r.by_file[key_of(path)];
  if (!slot || fresh)
    slot = std::make_shared<switchover_ids>();
  return slot;
}

std::shared_ptr<switchover_ids> switchover_ids::opened(const std::string& path) {
  auto& r = counters();
  std::lock_guard<std::mutex> guard{r.mtx};
  auto i = r.by_file.find(key_of(path));
  return i == r.by_file.end() ? nullptr : i->second;
}

void switchover_ids::seen(std::int64_t highest) {
  std::lock_guard<std::mutex> guard{mtx_};
  last_ = std::max(last_, highest);
}

std::int64_t switchover_ids::next() {
  std::lock_guard<std::mutex> guard{mtx_};
  return ++last_;
}

std::int64_t reserve_switchover_id(const std::string& path) {
  auto ids = switchover_ids::opened(path);
  return ids ? ids->next() : 0;
}

} // namespace switchyard::persistence
