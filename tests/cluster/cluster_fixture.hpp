// Shared by the etcd suites: a client of a test cluster, a leader without a
// lease, and a stopwatch.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "cluster/etcd_client.hpp"
#include "cluster/replicated_state.hpp"
#include "messages/error.hpp"

namespace switchyard::testing {

/// A client of `endpoints` ("127.0.0.1:p0,..."); throws on bad input (a test bug).
inline cluster::etcd_client etcd_client_of(const std::string& endpoints,
                                           std::chrono::milliseconds timeout) {
  auto parsed = cluster::parse_endpoints(endpoints);
  if (!parsed)
    throw std::runtime_error(describe(parsed.error()));
  cluster::client_settings settings;
  settings.endpoints = *parsed;
  settings.request_timeout = timeout;
  auto client = cluster::etcd_client::create(settings);
  if (!client)
    throw std::runtime_error(describe(client.error()));
  return *client;
}

/// Makes `id` the leader without a lease (a test's stand-in for an election):
/// the leader key's create revision is its epoch. Throws when etcd fails.
inline cluster::state_writer lead_without_lease(const cluster::etcd_client& client,
                                                const std::string& leader_key,
                                                const std::string& id) {
  auto rev = client.put(leader_key, id);
  if (!rev)
    throw std::runtime_error(describe(rev.error()));
  return {id, cluster::leader_epoch{*rev}};
}

class stopwatch {
public:
  [[nodiscard]] std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start_);
  }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace switchyard::testing
