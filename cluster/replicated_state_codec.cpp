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

} // namespace switchyard::cluster::detail
