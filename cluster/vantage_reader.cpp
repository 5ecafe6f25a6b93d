#include <set>
#include <utility>

#include "cluster/vantage_keys.hpp"
#include "cluster/vantage_views.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster {

using namespace vantage_keys;

caf::expected<std::unique_ptr<vantage_reader>>
vantage_reader::start(etcd_client client, std::string prefix, std::function<void()> on_change) {
  if (auto ok = validate_prefix(prefix); !ok)
    return ok.error();
  std::unique_ptr<vantage_reader> self{new vantage_reader(std::move(client), std::move(prefix))};
  if (auto seeded = self->reseed(); !seeded)
    return seeded.error();
  // From the revision after the seed's read: no change in between is missed,
  // however long the stream takes to open.
  watch_options options;
  options.prefix = true;
  options.start_revision = self->state_.revision + 1;
  auto* raw = self.get();
  raw->on_change_ = std::move(on_change);
  options.on_event = [raw](const watch_event& e) {
    raw->apply(e);
    if (raw->on_change_)
      raw->on_change_();
  };
  self->watch_ = self->client_.watch(self->prefix_ + "/", std::move(options));
  return self;
}

vantage_reader::vantage_reader(etcd_client client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {}

vantage_reader::~vantage_reader() {
  if (watch_)
    watch_->stop(); // its callbacks use this object
}

caf::expected<void> vantage_reader::reseed() {
  // A transaction without a guard: the keys and the revision they were read
  // at come from one response, which get_prefix does not give.
  auto read = client_.txn({}, {txn_op::get_prefix(prefix_ + "/")}, {});
  if (!read) {
    std::lock_guard<std::mutex> guard{mtx_};
    state_.last_error = describe(read.error());
    return read.error();
  }
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = vantage_snapshot{};
  state_.revision = read->revision;
  seed_revision_ = read->revision;
  if (!read->reads.empty())
    for (const auto& kv : read->reads.front())
      apply_change(kv, true);
  return caf::unit;
}

void vantage_reader::apply(const watch_event& e) {
  if (e.what == watch_event::kind::reset) {
    // Changes were compacted away while the stream was down: read again. A
    // failure is kept in last_error; the next reset or restart reads again.
    (void)reseed();
    return;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  // Events up to the seed's revision are in the seed already (after a reset,
  // the watch may still deliver some): replaying an older put would bring
  // back a key deleted since. Not "up to the last event's": a revoked lease
  // deletes all its keys in one revision, one event each.
  if (e.kv.mod_revision <= seed_revision_)
    return;
  state_.revision = std::max(state_.revision, e.kv.mod_revision);
  apply_change(e.kv, e.what == watch_event::kind::put);
}

void vantage_reader::apply_change(const key_value& kv, bool present) {
  auto parsed = parse_key(kv.key, prefix_);
  if (!parsed)
    return; // not a key this class writes
  auto& [replica, view] = *parsed;
  if (!view) {
    if (!present) {
      state_.members.erase(replica);
      return;
    }
    state_.members[replica] = member_view{member_address(kv.value), kv.lease};
  } else if (present) {
    state_.down[*view][replica] = decode(kv.value);
  } else if (auto it = state_.down.find(*view); it != state_.down.end()) {
    it->second.erase(replica);
    if (it->second.empty())
      state_.down.erase(it);
  }
}

vantage_snapshot vantage_reader::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return state_;
}

std::map<std::string, down_report> vantage_reader::reports(const std::string& service,
                                                           const std::string& instance) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = state_.down.find(instance_key{service, instance});
  if (it == state_.down.end())
    return {};
  return it->second;
}

caf::expected<down_verdict> vantage_reader::verdict(const std::string& service,
                                                    const std::string& instance,
                                                    const quorum_settings& settings) const {
  if (auto ok = validate(settings); !ok)
    return ok.error();
  std::set<std::string> live;
  std::set<std::string> down;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& [id, m] : state_.members)
      live.insert(id);
    if (auto it = state_.down.find(instance_key{service, instance}); it != state_.down.end())
      for (const auto& [id, r] : it->second)
        down.insert(id);
  }
  return judge_down(settings, down, live);
}

} // namespace switchyard::cluster
