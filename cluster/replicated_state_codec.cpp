#include "cluster/replicated_state_codec.hpp"

#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "messages/error.hpp"

namespace switchyard::cluster::detail {

namespace {

using json = nlohmann::json;

caf::error malformed(const std::string& key, const std::string& why) {
  return make_sy_error(sy_errc::storage_failure,
                       "replicated state: malformed value at \"" + key + "\": " + why);
}

std::string dump(const json& j) {
  // replace: a name that is not UTF-8 must not throw out of a write.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads the fields of one JSON object, remembering the first problem, so a
// parser reads straight through and checks once at the end.
class field_reader {
public:
  explicit field_reader(const json& obj) : obj_(obj) {}

  std::string text(const char* name) {
    const auto* v = find(name, &json::is_string, "a string");
    return v ? v->get<std::string>() : std::string{};
  }
  std::int64_t integer(const char* name) {
    const auto* v = find(name, &json::is_number_integer, "an integer");
    if (v && v->is_number_unsigned() &&
        v->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(name, "an integer of 64 bits");
    return v ? v->get<std::int64_t>() : 0;
  }
  std::uint64_t natural(const char* name) {
    const auto* v = find(name, &json::is_number_unsigned, "a non-negative integer");
    return v ? v->get<std::uint64_t>() : 0;
  }
  const json* array(const char* name) { return find(name, &json::is_array, "an array"); }
  /// The enum value (0..count-1) whose to_string the field holds.
  template <class Enum> Enum choice(const char* name, int count) {
    auto given = text(name);
    for (int i = 0; i < count; ++i)
      if (given == to_string(static_cast<Enum>(i)))
        return static_cast<Enum>(i);
    fail(name, "a known " + std::string(name) + ", not \"" + given + "\"");
    return Enum{};
  }
  void fail(const std::string& name, const std::string& expected, const char* head = "expected ") {
    if (problem_.empty())
      problem_ = "field \"" + name + "\": " + head + expected;
  }
  [[nodiscard]] const std::string& problem() const { return problem_; }

private:
  const json* find(const char* name, bool (json::*is)() const noexcept, const char* what) {
    auto it = obj_.find(name);
    if (it == obj_.end() || !((*it).*is)()) {
      fail(name, it == obj_.end() ? "missing" : what, it == obj_.end() ? "" : "expected ");
      return nullptr;
    }
    return &*it;
  }

  const json& obj_;
  std::string problem_;
};

caf::expected<json> parse_object(const key_value& kv) {
  auto j = json::parse(kv.value, nullptr, false);
  if (j.is_discarded())
    return malformed(kv.key, "not JSON");
  if (!j.is_object())
    return malformed(kv.key, "not a JSON object");
  return j;
}

} // namespace

std::string encode(const topology_record& t) {
  return dump(json{{"primary", t.primary.value},
                   {"epoch", t.service_epoch.value},
                   {"switchover", t.switchover.value},
                   {"leader_epoch", t.written_by.value},
                   {"at_ms", t.at_ms}});
}

caf::expected<topology_record> decode_topology(const key_value& kv, const service_id& service) {
  auto j = parse_object(kv);
  if (!j)
    return j.error();
  field_reader f{*j};
  topology_record t;
  t.service = service;
  t.primary = instance_id{f.text("primary")};
  t.service_epoch = epoch{f.natural("epoch")};
  t.switchover = switchover_id{f.integer("switchover")};
  t.written_by = leader_epoch{f.integer("leader_epoch")};
  t.at_ms = f.integer("at_ms");
  if (!f.problem().empty())
    return malformed(kv.key, f.problem());
  t.mod_revision = kv.mod_revision;
  return t;
}

std::string encode(const switchover_intent& in) {
  auto steps = json::array();
  for (const auto& s : in.steps)
    steps.push_back(json{{"sequence", s.sequence},
                         {"name", s.name},
                         {"phase", to_string(s.phase)},
                         {"progress", to_string(s.progress)}});
  return dump(json{{"id", in.id.value},
                   {"kind", to_string(in.kind)},
                   {"from", in.from.value},
                   {"to", in.to.value},
                   {"new_epoch", in.new_epoch.value},
                   {"steps", steps},
                   {"leader_id", in.leader_id},
                   {"leader_epoch", in.written_by.value},
                   {"started_ms", in.started_ms}});
}

caf::expected<switchover_intent> decode_intent(const key_value& kv, const service_id& service) {
  auto j = parse_object(kv);
  if (!j)
    return j.error();
  field_reader f{*j};
  switchover_intent in;
  in.service = service;
  in.id = switchover_id{f.integer("id")};
  in.kind = f.choice<switchover_kind>("kind", 3);
  in.from = instance_id{f.text("from")};
  in.to = instance_id{f.text("to")};
  in.new_epoch = epoch{f.natural("new_epoch")};
  in.leader_id = f.text("leader_id");
  in.written_by = leader_epoch{f.integer("leader_epoch")};
  in.started_ms = f.integer("started_ms");
  if (const auto* steps = f.array("steps")) {
    for (std::size_t i = 0; i < steps->size() && f.problem().empty(); ++i) {
      const auto& s = (*steps)[i];
      auto where = "steps[" + std::to_string(i) + "]";
      if (!s.is_object()) {
        f.fail(where, "an object");
        break;
      }
      field_reader sf{s};
      auto sequence = sf.natural("sequence");
      if (sequence > std::numeric_limits<std::uint32_t>::max())
        sf.fail("sequence", "a 32-bit number");
      in.steps.push_back({static_cast<std::uint32_t>(sequence), sf.text("name"),
                          sf.choice<step_phase>("phase", 5),
                          sf.choice<step_progress>("progress", 4)});
      if (!sf.problem().empty())
        f.fail(where, sf.problem(), "");
    }
  }
  if (!f.problem().empty())
    return malformed(kv.key, f.problem());
  in.mod_revision = kv.mod_revision;
  return in;
}

std::string encode(const maintenance_record& m) {
  return dump(json{{"service", m.service.value},
                   {"instance", m.instance.value},
                   {"reason", m.reason},
                   {"principal", m.principal},
                   {"since_ms", m.since_ms},
                   {"until_ms", m.until_ms}});
}

std::string encode(const replicated_backup& rb) {
  const auto& b = rb.record;
  return dump(json{{"node", rb.node},
                   {"id", b.id},
                   {"service", b.service},
                   {"policy", b.policy},
                   {"tier", b.tier},
                   {"destination", b.destination},
                   {"site", b.site},
                   {"medium", b.medium},
                   {"kind", to_string(b.kind)},
                   {"parent", b.parent},
                   {"artifact", b.artifact},
                   {"status", to_string(b.status)},
                   {"error", b.error},
                   {"source", b.source},
                   {"trigger", b.trigger},
                   {"raw_bytes", b.raw_bytes},
                   {"stored_bytes", b.stored_bytes},
                   {"sha256", b.sha256},
                   {"started_ms", b.started_ms},
                   {"finished_ms", b.finished_ms},
                   {"point_ms", b.point_ms},
                   {"verified_ms", b.verified_ms},
                   {"leader_epoch", b.leader_epoch},
                   {"facts", b.facts}});
}

caf::expected<replicated_backup> decode_backup(const key_value& kv) {
  auto j = parse_object(kv);
  if (!j)
    return j.error();
  field_reader f{*j};
  replicated_backup out;
  auto& b = out.record;
  out.node = f.text("node");
  b.id = f.integer("id");
  b.service = f.text("service");
  b.policy = f.text("policy");
  b.tier = f.text("tier");
  b.destination = f.text("destination");
  b.site = f.text("site");
  b.medium = f.text("medium");
  auto kind = f.text("kind");
  b.parent = f.integer("parent");
  b.artifact = f.text("artifact");
  auto status = f.text("status");
  b.error = f.text("error");
  b.source = f.text("source");
  b.trigger = f.text("trigger");
  b.raw_bytes = f.natural("raw_bytes");
  b.stored_bytes = f.natural("stored_bytes");
  b.sha256 = f.text("sha256");
  b.started_ms = f.integer("started_ms");
  b.finished_ms = f.integer("finished_ms");
  b.point_ms = f.integer("point_ms");
  b.verified_ms = f.integer("verified_ms");
  b.leader_epoch = f.integer("leader_epoch");
  b.facts = f.text("facts");
  b.origin = out.node;
  if (f.problem().empty() && !from_string(kind, b.kind))
    f.fail("kind", "full or incremental", "expected ");
  if (f.problem().empty() && !from_string(status, b.status))
    f.fail("status", "a backup status", "expected ");
  if (f.problem().empty() && (out.node.empty() || b.service.empty() || b.id <= 0))
    f.fail("node", "a node, a service and an id", "expected ");
  if (!f.problem().empty())
    return malformed(kv.key, f.problem());
  return out;
}

caf::expected<maintenance_record> decode_maintenance(const key_value& kv) {
  auto j = parse_object(kv);
  if (!j)
    return j.error();
  field_reader f{*j};
  maintenance_record m;
  m.service = service_id{f.text("service")};
  m.instance = instance_id{f.text("instance")};
  m.reason = f.text("reason");
  m.principal = f.text("principal");
  m.since_ms = f.integer("since_ms");
  m.until_ms = f.integer("until_ms");
  if (f.problem().empty() && m.service.value.empty())
    f.fail("service", "a service name", "expected ");
  if (!f.problem().empty())
    return malformed(kv.key, f.problem());
  return m;
}

namespace {

json encode_participant(const site_participant& p) {
  auto checks = json::array();
  for (const auto& c : p.checks)
    checks.push_back(json{{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  return json{{"service", p.service.value},
              {"from", p.from.value},
              {"to", p.to.value},
              {"level", p.level},
              {"state", to_string(p.state)},
              {"switchover", p.switchover.value},
              {"estimated_ms", p.estimated_ms},
              {"rto_ms", p.rto_ms},
              {"rpo_ms", p.rpo_ms},
              {"gap", p.gap},
              {"detail", p.detail},
              {"prepared_ms", p.prepared_ms},
              {"commit_started_ms", p.commit_started_ms},
              {"commit_finished_ms", p.commit_finished_ms},
              {"verified_ms", p.verified_ms},
              {"verified", p.verified},
              {"checks", checks}};
}

std::uint32_t small_natural(field_reader& f, const char* name) {
  auto v = f.natural(name);
  if (v > std::numeric_limits<std::uint32_t>::max())
    f.fail(name, "a 32-bit number");
  return static_cast<std::uint32_t>(v);
}

site_participant decode_participant(field_reader& f, const json& obj) {
  site_participant p;
  p.service = service_id{f.text("service")};
  p.from = instance_id{f.text("from")};
  p.to = instance_id{f.text("to")};
  p.level = small_natural(f, "level");
  p.state = f.choice<participant_state>("state", 7);
  p.switchover = switchover_id{f.integer("switchover")};
  p.estimated_ms = f.integer("estimated_ms");
  p.rto_ms = f.integer("rto_ms");
  p.rpo_ms = f.integer("rpo_ms");
  p.gap = f.integer("gap");
  p.detail = f.text("detail");
  p.prepared_ms = f.integer("prepared_ms");
  p.commit_started_ms = f.integer("commit_started_ms");
  p.commit_finished_ms = f.integer("commit_finished_ms");
  p.verified_ms = f.integer("verified_ms");
  auto verified = obj.find("verified");
  if (verified == obj.end() || !verified->is_boolean())
    f.fail("verified", "a boolean");
  else
    p.verified = verified->get<bool>();
  if (const auto* checks = f.array("checks"))
    for (const auto& c : *checks) {
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("ok") ||
          !c["ok"].is_boolean() || !c.contains("detail") || !c["detail"].is_string()) {
        f.fail("checks", "objects of name, ok and detail");
        break;
      }
      p.checks.push_back(
          {c["name"].get<std::string>(), c["ok"].get<bool>(), c["detail"].get<std::string>()});
    }
  return p;
}

} // namespace

std::string encode(const site_in_flight& s) {
  const auto& r = s.record;
  auto participants = json::array();
  for (const auto& p : r.participants)
    participants.push_back(encode_participant(p));
  return dump(json{{"id", r.id},
                   {"operation", to_string(r.operation)},
                   {"from_site", r.from_site},
                   {"to_site", r.to_site},
                   {"state", to_string(r.state)},
                   {"principal", r.principal},
                   {"reason", r.reason},
                   {"drill", r.drill},
                   {"started_ms", r.started_ms},
                   {"decided_ms", r.decided_ms},
                   {"parallelism", r.parallelism},
                   {"estimated_rto_ms", r.estimated_rto_ms},
                   {"detail", r.detail},
                   {"untouched", r.untouched},
                   {"participants", participants},
                   {"leader_id", s.leader_id},
                   {"leader_epoch", s.written_by.value}});
}

caf::expected<site_in_flight> decode_site(const key_value& kv) {
  auto j = parse_object(kv);
  if (!j)
    return j.error();
  field_reader f{*j};
  site_in_flight s;
  auto& r = s.record;
  r.id = f.integer("id");
  r.operation = f.choice<site_operation>("operation", 4);
  r.from_site = f.text("from_site");
  r.to_site = f.text("to_site");
  r.state = f.choice<site_state>("state", 5);
  r.principal = f.text("principal");
  r.reason = f.text("reason");
  r.drill = f.integer("drill");
  r.started_ms = f.integer("started_ms");
  r.decided_ms = f.integer("decided_ms");
  r.parallelism = small_natural(f, "parallelism");
  r.estimated_rto_ms = f.integer("estimated_rto_ms");
  r.detail = f.text("detail");
  if (const auto* untouched = f.array("untouched"))
    for (const auto& u : *untouched) {
      if (!u.is_string()) {
        f.fail("untouched", "an array of service names");
        break;
      }
      r.untouched.push_back(u.get<std::string>());
    }
  s.leader_id = f.text("leader_id");
  s.written_by = leader_epoch{f.integer("leader_epoch")};
  if (const auto* participants = f.array("participants")) {
    for (std::size_t i = 0; i < participants->size() && f.problem().empty(); ++i) {
      const auto& p = (*participants)[i];
      auto where = "participants[" + std::to_string(i) + "]";
      if (!p.is_object()) {
        f.fail(where, "an object");
        break;
      }
      field_reader pf{p};
      r.participants.push_back(decode_participant(pf, p));
      if (!pf.problem().empty())
        f.fail(where, pf.problem(), "");
    }
  }
  if (!f.problem().empty())
    return malformed(kv.key, f.problem());
  s.mod_revision = kv.mod_revision;
  return s;
}

} // namespace switchyard::cluster::detail
