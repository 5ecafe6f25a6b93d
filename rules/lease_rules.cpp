#include "rules/lease_rules.hpp"

#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

using std::chrono::milliseconds;

std::string ms(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

caf::error invalid(std::string message) {
  return make_sy_error(sy_errc::invalid_config, std::move(message));
}

} // namespace

caf::expected<void> validate(const lease_timing& t) {
  if (t.ttl < std::chrono::seconds(1))
    return invalid("ttl: " + ms(t.ttl) + " is below 1 s, the shortest lease etcd grants");
  if (t.ttl % std::chrono::seconds(1) != milliseconds(0))
    return invalid("ttl: " + ms(t.ttl) +
                   " is not a whole number of seconds (etcd counts lease TTLs in seconds)");
  if (t.keepalive_interval <= milliseconds(0))
    return invalid("keepalive_interval: must be positive, is " + ms(t.keepalive_interval));
  if (t.keepalive_interval >= t.ttl)
    return invalid("keepalive_interval: " + ms(t.keepalive_interval) +
                   " must be shorter than ttl (" + ms(t.ttl) +
                   "), or the lease expires between two renewals");
  if (t.safety_margin <= milliseconds(0))
    return invalid("safety_margin: must be positive, is " + ms(t.safety_margin) +
                   " (a leader would act up to the instant its lease may expire)");
  if (t.request_timeout <= milliseconds(0))
    return invalid("request_timeout: must be positive, is " + ms(t.request_timeout));
  if (t.retry_interval <= milliseconds(0))
    return invalid("retry_interval: must be positive, is " + ms(t.retry_interval));
  // A leader renews every interval; one renewal may use its whole deadline and
  // fail, and the next must still be acknowledged before the act deadline of
  // the last good one (sent + ttl - margin). Otherwise one lost packet makes a
  // healthy leader stop acting.
  if (t.keepalive_interval + t.request_timeout + t.safety_margin >= t.ttl)
    return invalid("keepalive_interval + request_timeout + safety_margin (" +
                   ms(t.keepalive_interval) + " + " + ms(t.request_timeout) + " + " +
                   ms(t.safety_margin) + ") must be shorter than ttl (" + ms(t.ttl) +
                   "), or a single keep-alive that times out stops a healthy leader");
  return caf::unit;
}

lease_clock::time_point act_deadline(lease_clock::time_point sent, milliseconds ttl,
                                     milliseconds margin) {
  return sent + ttl - margin;
}

void lease_fence::renewed(lease_clock::time_point sent, milliseconds ttl) {
  auto until = act_deadline(sent, ttl, margin_);
  // Acknowledgements may arrive out of order (a slow one after a fast one):
  // the deadline only moves forward.
  if (!until_ || until > *until_) {
    until_ = until;
    sent_ = sent;
  }
}

void lease_fence::lost() {
  until_.reset();
  sent_.reset();
}

bool lease_fence::may_act(lease_clock::time_point now) const {
  return until_ && now < *until_;
}

milliseconds lease_fence::remaining(lease_clock::time_point now) const {
  if (!may_act(now))
    return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(*until_ - now);
}

campaign_verdict judge_campaign(bool txn_succeeded, const std::optional<leader_record>& holder,
                                std::string_view my_id, std::int64_t my_lease) {
  if (txn_succeeded)
    return campaign_verdict::won;
  if (!holder)
    return campaign_verdict::vacant; // a failed compare reads the key in the same txn: never
  // Our own key from an earlier campaign whose answer we never got (a timeout
  // after etcd applied it): the lease proves it is ours, the id alone would not
  // (two processes configured with the same id).
  if (holder->id == my_id && holder->lease_id == my_lease && my_lease != 0)
    return campaign_verdict::already_ours;
  return campaign_verdict::other_leads;
}

const char* to_string(campaign_verdict verdict) {
  switch (verdict) {
  case campaign_verdict::won:
    return "won";
  case campaign_verdict::already_ours:
    return "already ours";
  case campaign_verdict::other_leads:
    return "other leads";
  case campaign_verdict::vacant:
    return "vacant";
  }
  return "?";
}

} // namespace switchyard::cluster
