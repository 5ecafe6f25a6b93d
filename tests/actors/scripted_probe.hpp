// A probe whose outcome a test sets through a shared map (instance -> up),
// for the deterministic pipeline tests. A failed probe is a refused connection.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "probes/probe.hpp"

namespace switchyard::testing {

using up_map = std::map<std::string, bool>;

class scripted_probe : public actors::probe {
public:
  scripted_probe(std::shared_ptr<up_map> up, std::string instance)
      : up_(std::move(up)), instance_(std::move(instance)) {}
  /// A failed probe is refused, unless "<instance>#timeout" is set in the
  /// map: then it times out (a host that does not answer).
  actors::probe_outcome check() override {
    using namespace std::chrono_literals;
    bool ok = (*up_)[instance_];
    auto t = up_->find(instance_ + "#timeout");
    bool silent = t != up_->end() && t->second;
    if (!ok && silent)
      return {false, 1000us, "timed out", false};
    return {ok, 1000us, ok ? "HTTP 200" : "connection refused", !ok};
  }

private:
  std::shared_ptr<up_map> up_;
  std::string instance_;
};

} // namespace switchyard::testing
