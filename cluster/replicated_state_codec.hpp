// The JSON values of the replicated state's keys (replicated_state.hpp):
// written compactly, read strictly — a malformed value is an error naming its
// key and field, never an exception, so a new leader never decides with a
// value it could not read. Internal to cluster/.
#pragma once

#include <string>

#include <caf/expected.hpp>

#include "cluster/etcd_types.hpp"
#include "cluster/replicated_state.hpp"

namespace switchyard::cluster::detail {

std::string encode(const topology_record& t);
std::string encode(const switchover_intent& in);
caf::expected<topology_record> decode_topology(const key_value& kv, const service_id& service);
caf::expected<switchover_intent> decode_intent(const key_value& kv, const service_id& service);
std::string encode(const maintenance_record& m);
caf::expected<maintenance_record> decode_maintenance(const key_value& kv);
std::string encode(const replicated_backup& b);
caf::expected<replicated_backup> decode_backup(const key_value& kv);
std::string encode(const site_in_flight& s);
caf::expected<site_in_flight> decode_site(const key_value& kv);

} // namespace switchyard::cluster::detail
