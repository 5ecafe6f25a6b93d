// `switchyard backup ...`: policies, the catalog, a backup, a verification
// and a restore now, and 3-2-1/RPO compliance (docs/backups.md).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "apps/switchyard/client.hpp"
#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::cli {

void print_backup_policies(std::ostream& out, const v1::GetBackupPoliciesResponse& r);
void print_backups(std::ostream& out, const v1::ListBackupsResponse& r);
void print_backup_outcome(std::ostream& out, const v1::BackupOutcome& r);
void print_backup_compliance(std::ostream& out, const v1::GetBackupComplianceResponse& r);

/// "2026-12-07T10:00:00Z" (UTC), "2026-12-07 10:00:00" (local time), a
/// duration ago ("2h", "90m", "1d") or unix milliseconds; false with `why`
/// for anything else.
bool parse_point_in_time(const std::string& text, std::int64_t now_ms, std::int64_t& out,
                         std::string& why);

int run_backup_create(client& c, bool json, const v1::CreateBackupRequest& req,
                      int timeout_seconds);
int run_backup_verify(client& c, bool json, const v1::VerifyBackupRequest& req,
                      int timeout_seconds);
int run_backup_restore(client& c, bool json, const v1::RestoreBackupRequest& req, bool yes,
                       int timeout_seconds);

} // namespace switchyard::cli
