#include "config/dependencies.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

namespace switchyard::config {

dependency_graph::dependency_graph(const std::vector<service_settings>& services) {
  for (const auto& svc : services)
    add(svc.name, svc.depends_on);
}

void dependency_graph::add(const std::string& service, std::vector<std::string> depends_on) {
  if (index_.count(service))
    return; // a duplicate name (a config error of its own): the first one counts
  index_.emplace(service, nodes_.size());
  nodes_.push_back(node{service, std::move(depends_on)});
}

std::vector<std::size_t> dependency_graph::edges(std::size_t i) const {
  std::vector<std::size_t> out;
  for (const auto& dep : nodes_[i].depends_on)
    if (auto j = index_.find(dep); j != index_.end())
      out.push_back(j->second);
  return out;
}

std::vector<std::string> dependency_graph::dependencies_of(const std::string& service) const {
  auto i = index_.find(service);
  return i == index_.end() ? std::vector<std::string>{} : nodes_[i->second].depends_on;
}

std::vector<std::string> dependency_graph::dependents_of(const std::string& service) const {
  std::vector<std::string> out;
  for (const auto& n : nodes_)
    if (n.name != service &&
        std::find(n.depends_on.begin(), n.depends_on.end(), service) != n.depends_on.end())
      out.push_back(n.name);
  return out;
}

std::vector<std::string> dependency_graph::all_dependencies_of(const std::string& service) const {
  std::vector<std::string> out;
  auto start = index_.find(service);
  if (start == index_.end())
    return out;
  // Breadth first: the nearest dependencies come first.
  std::set<std::size_t> seen{start->second};
  std::deque<std::size_t> queue{start->second};
  while (!queue.empty()) {
    auto i = queue.front();
    queue.pop_front();
    for (auto j : edges(i))
      if (seen.insert(j).second) {
        out.push_back(nodes_[j].name);
        queue.push_back(j);
      }
  }
  return out;
}

std::vector<std::string> dependency_graph::all_dependents_of(const std::string& service) const {
  std::vector<std::string> out;
  if (!contains(service))
    return out;
  std::set<std::string> seen{service};
  std::deque<std::string> queue{service};
  while (!queue.empty()) {
    auto s = queue.front();
    queue.pop_front();
    for (auto& d : dependents_of(s))
      if (seen.insert(d).second) {
        out.push_back(d);
        queue.push_back(std::move(d));
      }
  }
  return out;
}

std::vector<std::vector<std::string>> dependency_graph::cycles() const {
  enum class mark { unvisited, on_path, done };
  std::vector<mark> marks(nodes_.size(), mark::unvisited);
  std::vector<std::size_t> path;
  std::vector<std::vector<std::string>> found;
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    marks[i] = mark::on_path;
    path.push_back(i);
    for (auto j : edges(i)) {
      if (marks[j] == mark::unvisited) {
        visit(j);
      } else if (marks[j] == mark::on_path) {
        // The path from j back to j; written from its member first in the file.
        auto from = std::find(path.begin(), path.end(), j);
        std::vector<std::size_t> members(from, path.end());
        std::rotate(members.begin(), std::min_element(members.begin(), members.end()),
                    members.end());
        std::vector<std::string> cycle;
        for (auto m : members)
          cycle.push_back(nodes_[m].name);
        cycle.push_back(nodes_[members.front()].name);
        if (std::find(found.begin(), found.end(), cycle) == found.end())
          found.push_back(std::move(cycle));
      }
    }
    path.pop_back();
    marks[i] = mark::done;
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (marks[i] == mark::unvisited)
      visit(i);
  return found;
}

std::optional<std::vector<std::string>> dependency_graph::topological_order() const {
  std::vector<std::string> order;
  std::vector<bool> placed(nodes_.size(), false);
  // Each round places the first service (in file order) whose dependencies
  // are all placed: quadratic, and the graphs are small.
  for (std::size_t round = 0; round < nodes_.size(); ++round) {
    bool progress = false;
    for (std::size_t i = 0; i < nodes_.size() && !progress; ++i) {
      if (placed[i])
        continue;
      auto deps = edges(i);
      if (std::all_of(deps.begin(), deps.end(), [&](std::size_t j) { return placed[j]; })) {
        placed[i] = true;
        order.push_back(nodes_[i].name);
        progress = true;
      }
    }
    if (!progress)
      return std::nullopt; // what is left waits on itself: a cycle
  }
  return order;
}

std::string describe_cycle(const std::vector<std::string>& cycle) {
  std::string out;
  for (const auto& name : cycle)
    out += out.empty() ? name : " -> " + name;
  return out;
}

} // namespace switchyard::config
