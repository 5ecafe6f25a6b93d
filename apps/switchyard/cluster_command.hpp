// `switchyard cluster status`: this replica's view of the control-plane
// cluster (docs/high-availability.md), from GetCluster.
#pragma once

#include <ostream>

#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::cli {

/// Not clustered: one line saying so. A replica: member, leader (and its API
/// address), epoch, whether this replica may act (and why not), lease, quorum,
/// members with the leader marked, then each (service, primary) with every
/// member's published view of it (down, up, or - for none).
void print_cluster(std::ostream& out, const v1::ClusterStatus& c);

} // namespace switchyard::cli
