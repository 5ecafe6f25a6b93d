#include "strategies/actions/redis_action.hpp"

#include <map>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"

namespace switchyard::strategies {

namespace {

using resp::reply;

class session {
public:
  session(const std::string& address, stream_socket::clock::time_point deadline)
      : deadline_(deadline), conn_(stream_socket::connect(address, deadline, error_)) {}

  /// The reply to `args`, or nullopt with error() set.
  std::optional<reply> call(const std::vector<std::string>& args) {
    if (!conn_ || !conn_->send_all(resp::encode(args), deadline_, error_))
      return std::nullopt;
    std::optional<reply> out;
    auto complete = [&out](const std::string& buf) {
      std::size_t pos = 0;
      out = buf.empty() ? std::nullopt : resp::parse(buf, pos);
      return out.has_value();
    };
    std::string buffer;
    if (!conn_->receive(buffer, complete, false, deadline_, error_))
      return std::nullopt;
    return out;
  }

  const std::string& error() const { return error_; }

  /// INFO `section` as fields, or nullopt with error() set.
  std::optional<std::map<std::string, std::string>> info(const std::string& section) {
    auto r = call({"INFO", section});
    if (!r)
      return std::nullopt;
    if (r->is_error()) {
      error_ = "INFO refused: " + r->text;
      return std::nullopt;
    }
    return resp::info_fields(r->text);
  }

private:
  stream_socket::clock::time_point deadline_;
  std::string error_;
  std::unique_ptr<stream_socket> conn_;
};

std::pair<std::string, std::string> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return {address, ""};
  return {address.substr(0, colon), address.substr(colon + 1)};
}

// The replication offset an INFO replication reply reports for its server.
std::optional<std::int64_t> offset_of(const std::map<std::string, std::string>& info) {
  auto key = info.count("slave_repl_offset") > 0 ? "slave_repl_offset" : "master_repl_offset";
  auto i = info.find(key);
  if (i == info.end())
    return std::nullopt;
  try {
    return std::stoll(i->second);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string field(const std::map<std::string, std::string>& info, const std::string& key) {
  auto i = info.find(key);
  return i == info.end() ? std::string{} : i->second;
}

// What a returning old primary (`target`) holds that `primary` never
// received, from both servers' INFO replication: empty if nothing.
//  - same history, promoted later: the primary's replid2 is the target's
//    replid; everything past second_repl_offset - 1 was never replicated;
//  - unrelated history with keys (e.g. it was written to while cut off and
//    restarted with its data): all of it is treated as diverged.
std::string divergence_of(const std::map<std::string, std::string>& target,
                          const std::map<std::string, std::string>& primary, long long keys) {
  if (field(target, "role") != "master")
    return {}; // a replica holds nothing of its own
  auto replid = field(target, "master_replid");
  auto offset = offset_of(target).value_or(0);
  if (replid == field(primary, "master_replid"))
    return {};
  if (replid == field(primary, "master_replid2")) {
    long long promoted_at = 0;
    try {
      promoted_at = std::stoll(field(primary, "second_repl_offset")) - 1;
    } catch (const std::exception&) {
      return {};
    }
    if (offset <= promoted_at)
      return {};
    return fmt::format(
        "{} bytes of writes past the promotion point (its offset {}, promoted at {})",
        offset - promoted_at, offset, promoted_at);
  }
  if (keys > 0)
    return fmt::format("an unrelated replication history ({} at offset {}) holding {} keys", replid,
                       offset, keys);
  return {};
}

} // namespace

redis_action::redis_action(config::action_settings settings) : settings_(std::move(settings)) {}

std::string redis_action::describe() const {
  switch (settings_.operation) {
  case config::redis_operation::promote:
    return "redis: REPLICAOF NO ONE on the target, then ROLE must be master";
  case config::redis_operation::follow:
    return "redis: REPLICAOF <new primary> on the target (recording any divergence first), then "
           "ROLE must be its replica";
  case config::redis_operation::pause_writes:
    return fmt::format("redis: CLIENT PAUSE {} WRITE on the target", settings_.pause.count());
  case config::redis_operation::offset:
    return "redis: read the target's replication offset (INFO replication)";
  case config::redis_operation::caught_up:
    return fmt::format("redis: wait until the target's replication offset is within {} bytes of "
                       "the old primary's",
                       settings_.max_lag_bytes);
  }
  return "redis";
}

action_result redis_action::run(const action_context& ctx) {
  const auto started = stream_socket::clock::now();
  const auto deadline = started + settings_.timeout;
  auto finish = [&](bool ok, const std::string& detail) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(stream_socket::clock::now() -
                                                                    started);
    return finished_action(started, deadline, ok,
                           fmt::format("{} {} in {} ms", ctx.target_address, detail, ms.count()));
  };
  if (ctx.target_address.empty())
    return finish(false, "has no address (unknown target instance)");

  // A session on `address`, authenticated when a password is configured.
  auto open = [&](const std::string& address, std::string& why) {
    auto s = std::make_unique<session>(address, deadline);
    if (auto password = settings_.env.find("REDIS_PASSWORD"); password != settings_.env.end()) {
      auto r = s->call({"AUTH", password->second});
      if (!r)
        why = "AUTH: " + s->error();
      else if (r->is_error())
        why = "AUTH refused: " + r->text;
      if (!why.empty())
        return std::unique_ptr<session>{};
    }
    return s;
  };
  std::string why;
  auto s = open(ctx.target_address, why);
  if (!s)
    return finish(false, why);
  auto expect_ok = [&](const std::vector<std::string>& args) {
    auto r = s->call(args);
    if (!r)
      why = fmt::format("{}: {}", args.front(), s->error());
    else if (r->is_error())
      why = fmt::format("{} refused: {}", args.front(), r->text);
    return r && !r->is_error();
  };

  switch (settings_.operation) {
  case config::redis_operation::pause_writes:
    if (!expect_ok({"CLIENT", "PAUSE", std::to_string(settings_.pause.count()), "WRITE"}))
      return finish(false, why);
    return finish(true, fmt::format("writes paused for {} ms", settings_.pause.count()));
  case config::redis_operation::offset: {
    auto info = s->info("replication");
    if (!info)
      return finish(false, s->error());
    auto offset = offset_of(*info);
    if (!offset)
      return finish(false, "INFO replication has no offset");
    auto r =
        finish(true, fmt::format("{} at replication offset {}", field(*info, "role"), *offset));
    r.value = *offset;
    return r;
  }
  case config::redis_operation::caught_up: {
    if (ctx.old_primary_address.empty() || ctx.old_primary_address == ctx.target_address)
      return finish(false, "has no other primary to compare with");
    // Polled until the deadline: a standby that is catching up passes as
    // soon as it is within the bound. One connection to the old primary for
    // every poll. Once both positions have been read, a read cut short by the
    // deadline is judged on the last positions read: running out of time
    // must never pass for "the old primary is unreachable" (that would pass a
    // standby that is still behind).
    long long target_at = 0;
    long long primary_at = 0;
    bool compared = false;
    auto out_of_time = [&] {
      return stream_socket::clock::now() + std::chrono::milliseconds(10) >= deadline;
    };
    std::unique_ptr<session> p;
    std::string unreachable;
    while (true) {
      auto mine = s->info("replication");
      if (!mine) {
        if (compared && out_of_time())
          break;
        return finish(false, s->error());
      }
      target_at = offset_of(*mine).value_or(0);
      if (!p)
        p = open(ctx.old_primary_address, unreachable);
      auto theirs = p ? p->info("replication") : std::nullopt;
      if (!theirs) {
        if (compared && out_of_time())
          break;
        // It cannot send more than the target already has.
        return finish(true, fmt::format("at offset {}; the old primary {} is unreachable ({}): "
                                        "nothing more to catch up from",
                                        target_at, ctx.old_primary_address,
                                        p ? p->error() : unreachable));
      }
      primary_at = offset_of(*theirs).value_or(0);
      compared = true;
      if (primary_at - target_at <= settings_.max_lag_bytes) {
        auto r = finish(true, fmt::format("caught up: offset {}, old primary at {} (lag {} bytes)",
                                          target_at, primary_at, primary_at - target_at));
        r.value = target_at;
        return r;
      }
      if (out_of_time())
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return finish(false, fmt::format("still {} bytes behind the old primary (offset {}, primary "
                                     "at {}; allowed {})",
                                     primary_at - target_at, target_at, primary_at,
                                     settings_.max_lag_bytes));
  }
  case config::redis_operation::promote:
    if (!expect_ok({"REPLICAOF", "NO", "ONE"}))
      return finish(false, why);
    break;
  case config::redis_operation::follow: {
    if (ctx.new_primary_address.empty() || ctx.new_primary_address == ctx.target_address)
      return finish(false, "cannot follow itself: the target is the new primary");
    // Before it becomes a replica (which discards its data): what would be lost.
    auto mine = s->info("replication");
    if (!mine)
      return finish(false, s->error());
    long long keys = 0;
    if (auto n = s->call({"DBSIZE"}); n && n->type == ':')
      keys = std::stoll(n->text);
    std::string unreachable;
    auto p = open(ctx.new_primary_address, unreachable);
    auto theirs = p ? p->info("replication") : std::nullopt;
    if (!theirs)
      return finish(false, fmt::format("new primary {} unreachable: {}", ctx.new_primary_address,
                                       p ? p->error() : unreachable));
    auto divergence = divergence_of(*mine, *theirs, keys);
    auto [host, port] = split_address(ctx.new_primary_address);
    if (!expect_ok({"REPLICAOF", host, port}))
      return finish(false, why);
    auto role = s->call({"ROLE"});
    if (!role)
      return finish(false, "ROLE: " + s->error());
    if (role->is_error() || role->items.size() < 3 || role->items.front().text != "slave" ||
        role->items[2].text != port)
      return finish(false, fmt::format("reads back as {} after REPLICAOF {} {}",
                                       role->items.empty() ? role->text : role->items.front().text,
                                       host, port));
    auto r = finish(true, fmt::format("replicates {} ({}){}", ctx.new_primary_address,
                                      role->items.size() > 3 ? role->items[3].text : "?",
                                      divergence.empty() ? "" : "; DIVERGED: held " + divergence));
    r.divergence = divergence;
    return r;
  }
  }
  // Promote: read the role back; the step is done only when Redis says so.
  auto role = s->call({"ROLE"});
  if (!role)
    return finish(false, "ROLE: " + s->error());
  if (role->is_error() || role->items.empty())
    return finish(false, "ROLE: unexpected answer " + role->text);
  if (role->items.front().text != "master")
    return finish(false, "is still " + role->items.front().text + " after REPLICAOF NO ONE");
  auto offset = role->items.size() > 1 ? role->items[1].text : std::string{"?"};
  return finish(true, fmt::format("is master (replication offset {})", offset));
}

} // namespace switchyard::strategies
