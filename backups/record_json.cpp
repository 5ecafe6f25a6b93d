#include "backups/record_json.hpp"

#include <nlohmann/json.hpp>

#include "messages/error.hpp"

namespace switchyard::backups {

std::string record_to_json(const backup_record& b) {
  return nlohmann::json{{"id", b.id},
                        {"service", b.service},
                        {"policy", b.policy},
                        {"tier", b.tier},
                        {"site", b.site},
                        {"medium", b.medium},
                        {"kind", to_string(b.kind)},
                        {"parent", b.parent},
                        {"artifact", b.artifact},
                        {"source", b.source},
                        {"raw_bytes", b.raw_bytes},
                        {"stored_bytes", b.stored_bytes},
                        {"sha256", b.sha256},
                        {"started_ms", b.started_ms},
                        {"point_ms", b.point_ms},
                        {"leader_epoch", b.leader_epoch},
                        {"facts", b.facts}}
      .dump(2);
}

caf::expected<backup_record> record_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_sy_error(sy_errc::corrupt, "not a backup record (JSON)");
  try {
    backup_record b;
    b.id = j.at("id").get<std::int64_t>();
    b.service = j.at("service").get<std::string>();
    b.policy = j.value("policy", std::string{});
    b.tier = j.at("tier").get<std::string>();
    b.site = j.value("site", std::string{});
    b.medium = j.value("medium", std::string{});
    if (!from_string(j.at("kind").get<std::string>(), b.kind))
      return make_sy_error(sy_errc::corrupt, "backup record: unknown kind");
    b.parent = j.value("parent", std::int64_t{0});
    b.artifact = j.at("artifact").get<std::string>();
    b.source = j.value("source", std::string{});
    b.raw_bytes = j.value("raw_bytes", std::uint64_t{0});
    b.stored_bytes = j.value("stored_bytes", std::uint64_t{0});
    b.sha256 = j.at("sha256").get<std::string>();
    b.started_ms = j.value("started_ms", std::int64_t{0});
    b.point_ms = j.value("point_ms", std::int64_t{0});
    b.leader_epoch = j.value("leader_epoch", std::int64_t{0});
    b.facts = j.value("facts", std::string{"{}"});
    b.status = backup_status::complete; // a sidecar is written only after its artifact
    return b;
  } catch (const nlohmann::json::exception& e) {
    return make_sy_error(sy_errc::corrupt, std::string{"backup record: "} + e.what());
  }
}

} // namespace switchyard::backups
