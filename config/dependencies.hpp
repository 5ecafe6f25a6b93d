// The graph of services' `depends_on`: direct and transitive dependencies and
// dependents, cycles and a topological order. Pure; the loader validates with
// it, the classifier's dependency tracker and site switchovers walk it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace switchyard::config {

class dependency_graph {
public:
  dependency_graph() = default;
  /// Every service with its `depends_on`, in file order.
  explicit dependency_graph(const std::vector<service_settings>& services);

  /// Adds `service` (after those added before: file order breaks ties) with
  /// the services it depends on. Names never added are ignored by every query.
  void add(const std::string& service, std::vector<std::string> depends_on);

  bool contains(const std::string& service) const { return index_.count(service) > 0; }

  /// The services `service` depends on directly, as written.
  std::vector<std::string> dependencies_of(const std::string& service) const;
  /// The services that depend on `service` directly, in file order.
  std::vector<std::string> dependents_of(const std::string& service) const;
  /// Everything `service` depends on, directly or not, nearest first.
  std::vector<std::string> all_dependencies_of(const std::string& service) const;
  /// Everything that depends on `service`, directly or not, nearest first.
  std::vector<std::string> all_dependents_of(const std::string& service) const;

  /// The cycles a depth-first walk in file order meets, each written as the
  /// path back to its start (`app, cache, db, app`) and starting at the
  /// member that comes first in the file. Empty: the graph is acyclic.
  std::vector<std::vector<std::string>> cycles() const;

  /// Every service after all it depends on (ties in file order): the order to
  /// bring services up in. None when there is a cycle.
  std::optional<std::vector<std::string>> topological_order() const;

private:
  struct node {
    std::string name;
    std::vector<std::string> depends_on;
  };
  /// Known direct dependencies of node `i`, as indexes.
  std::vector<std::size_t> edges(std::size_t i) const;

  std::vector<node> nodes_;                  ///< file order
  std::map<std::string, std::size_t> index_; ///< name -> position in nodes_
};

/// "app -> cache -> db -> app".
std::string describe_cycle(const std::vector<std::string>& cycle);

} // namespace switchyard::config
