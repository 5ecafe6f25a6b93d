// The gRPC service behind api_gateway: one class, its calls defined by
// subject, each going through one api_call (api_call.hpp):
// - api_reads.cpp: status, cluster, services, switchovers, audit, plans, availability;
// - api_mutations.cpp: switchover, failover, maintenance, reload;
// - api_sites.cpp: site assessment and switchover, drills (and the last-drill cache);
// - api_backups.cpp: backup policies, the catalog, create/verify/restore, compliance;
// - api_gateway.cpp: WatchEvents (the stream itself: api_watch.cpp) and the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/api_call.hpp"
#include "api/api_concurrency.hpp"
#include "api/api_gateway.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::actors {

namespace pb = switchyard::v1;

/// The last drill of each service, by service name.
using drill_index = std::unordered_map<std::string, service_drill>;

// WatchEvents is served by the callback API (api_watch.hpp): no thread per stream.
class api_gateway::service final
    : public pb::Switchyard::WithCallbackMethod_WatchEvents<pb::Switchyard::Service> {
public:
  using WithCallbackMethod_WatchEvents::WatchEvents; // the sync one it replaces

  service(caf::actor_system& sys, std::shared_ptr<peer_table> peers,
          std::shared_ptr<config_holder> config, std::vector<config::api_token> tokens,
          std::shared_ptr<event_fanout> events, reload_fn reload);

  // Reads (api_reads.cpp).
  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest* req,
                         pb::Status* out) override;
  grpc::Status GetCluster(grpc::ServerContext* ctx, const pb::GetClusterRequest* req,
                          pb::ClusterStatus* out) override;
  grpc::Status ListServices(grpc::ServerContext* ctx, const pb::ListServicesRequest* req,
                            pb::ListServicesResponse* out) override;
  grpc::Status GetService(grpc::ServerContext* ctx, const pb::GetServiceRequest* req,
                          pb::ServiceDetail* out) override;
  grpc::Status ListSwitchovers(grpc::ServerContext* ctx, const pb::ListSwitchoversRequest* req,
                               pb::ListSwitchoversResponse* out) override;
  grpc::Status GetSwitchover(grpc::ServerContext* ctx, const pb::GetSwitchoverRequest* req,
                             pb::Switchover* out) override;
  grpc::Status ListAudit(grpc::ServerContext* ctx, const pb::ListAuditRequest* req,
                         pb::ListAuditResponse* out) override;
  grpc::Status ExportPlans(grpc::ServerContext* ctx, const pb::ExportPlansRequest* req,
                           pb::ExportPlansResponse* out) override;
  grpc::Status GetAvailability(grpc::ServerContext* ctx, const pb::GetAvailabilityRequest* req,
                               pb::GetAvailabilityResponse* out) override;

  // Mutations of services and of the configuration (api_mutations.cpp).
  grpc::Status RequestSwitchover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                                 pb::SwitchoverResponse* out) override;
  grpc::Status RequestFailover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                               pb::SwitchoverResponse* out) override;
  grpc::Status SetMaintenance(grpc::ServerContext* ctx, const pb::MaintenanceRequest* req,
                              pb::MaintenanceResponse* out) override;
  grpc::Status Reload(grpc::ServerContext* ctx, const pb::ReloadRequest* req,
                      pb::ReloadResponse* out) override;

  // Sites and drills (api_sites.cpp).
  grpc::Status AssessSite(grpc::ServerContext* ctx, const pb::AssessSiteRequest* req,
                          pb::SiteRecord* out) override;
  grpc::Status SiteSwitchover(grpc::ServerContext* ctx, const pb::SiteSwitchoverRequest* req,
                              pb::SiteRecord* out) override;
  grpc::Status ListSiteSwitchovers(grpc::ServerContext* ctx,
                                   const pb::ListSiteSwitchoversRequest* req,
                                   pb::ListSiteSwitchoversResponse* out) override;
  grpc::Status GetSiteSwitchover(grpc::ServerContext* ctx, const pb::GetSiteSwitchoverRequest* req,
                                 pb::SiteRecord* out) override;
  grpc::Status Drill(grpc::ServerContext* ctx, const pb::DrillRequest* req,
                     pb::DrillReport* out) override;
  grpc::Status ListDrills(grpc::ServerContext* ctx, const pb::ListDrillsRequest* req,
                          pb::ListDrillsResponse* out) override;
  grpc::Status GetDrillReport(grpc::ServerContext* ctx, const pb::GetDrillReportRequest* req,
                              pb::DrillReport* out) override;

  // Backups (api_backups.cpp).
  grpc::Status GetBackupPolicies(grpc::ServerContext* ctx, const pb::GetBackupPoliciesRequest* req,
                                 pb::GetBackupPoliciesResponse* out) override;
  grpc::Status ListBackups(grpc::ServerContext* ctx, const pb::ListBackupsRequest* req,
                           pb::ListBackupsResponse* out) override;
  grpc::Status CreateBackup(grpc::ServerContext* ctx, const pb::CreateBackupRequest* req,
                            pb::ListBackupsResponse* out) override;
  grpc::Status VerifyBackup(grpc::ServerContext* ctx, const pb::VerifyBackupRequest* req,
                            pb::BackupOutcome* out) override;
  grpc::Status RestoreBackup(grpc::ServerContext* ctx, const pb::RestoreBackupRequest* req,
                             pb::BackupOutcome* out) override;
  grpc::Status GetBackupCompliance(grpc::ServerContext* ctx,
                                   const pb::GetBackupComplianceRequest* req,
                                   pb::GetBackupComplianceResponse* out) override;

  // Events (api_gateway.cpp). Without a thread of its own: the reactor
  // (api_watch.hpp) is woken by the fanout. Beyond api.max_watch_streams (in
  // total or per token): RESOURCE_EXHAUSTED.
  grpc::ServerWriteReactor<pb::EventBatch>* WatchEvents(grpc::CallbackServerContext* ctx,
                                                        const pb::WatchEventsRequest* req) override;

  /// For api_gateway::start().
  request_guard& guard() { return core_.guard(); }

private:
  // A planned switchover or a forced failover: same checks, audit and reply.
  grpc::Status switchover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                          pb::SwitchoverResponse* out, switchover_kind kind, const char* name);

  // The last drill of every service; null (logged) when the store does not
  // answer: the status is still worth showing without it. Read from the store
  // at most every drill_cache_ttl (and again after a drill run through this
  // API): GetStatus and ListServices would otherwise wait behind the store's
  // journal writes on every call, which during a burst of failures is exactly
  // when operators call them. (api_sites.cpp)
  std::shared_ptr<const drill_index> last_drills();
  /// After a drill: the next last_drills() reads the store again.
  void forget_drills();

  api_core core_;
  std::shared_ptr<event_fanout> events_;
  // api.max_watch_streams and api.max_long_calls, in total and per token.
  concurrency_limit watch_streams_;
  concurrency_limit long_calls_;
  reload_fn reload_;
  std::chrono::steady_clock::time_point started_;
  std::mutex drills_mutex_;
  std::shared_ptr<const drill_index> drills_; ///< see last_drills()
  std::chrono::steady_clock::time_point drills_loaded_;
  std::uint64_t drills_generation_ = 0; ///< bumped by forget_drills()
};

} // namespace switchyard::actors
