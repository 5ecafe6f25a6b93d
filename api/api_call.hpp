// One call of the API from its start to its answer, the same for every RPC:
// authenticate and authorize (token, role, request size), for a mutating call
// write the audit trail (every refusal, the request before it acts, the
// outcome), ask an actor with a deadline, and map the actor's error to the
// gRPC status the client gets. What all calls share (the actor system, the
// configuration in force, the tokens, the request guard, the refusal limiter
// of the audit trail) is the api_core.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <grpcpp/support/status.h>
#include <nlohmann/json_fwd.hpp>

#include "actors/config_holder.hpp"
#include "actors/peers.hpp"
#include "api/api_concurrency.hpp"
#include "api/api_interceptor.hpp"
#include "api/refusal_limiter.hpp"
#include "config/tokens.hpp"
#include "messages/error.hpp"

namespace grpc {
class ServerContextBase;
}

namespace switchyard::metrics {
class counter;
}

namespace switchyard::actors {

/// How long a short call waits for an actor's answer.
inline constexpr auto actor_timeout = std::chrono::seconds(5);

/// The caller, from its bearer token.
struct principal {
  std::string name;
  config::api_role role = config::api_role::viewer;
};

/// Maps an actor-side error to the gRPC status an operator can act on.
grpc::Status to_status(const caf::error& err);

/// What every call shares. Not copyable: the request guard's interceptors
/// point at it.
class api_core {
public:
  api_core(caf::actor_system& sys, peers_ptr peers, std::shared_ptr<config_holder> config,
           std::vector<config::api_token> tokens);
  api_core(const api_core&) = delete;
  api_core& operator=(const api_core&) = delete;

  /// The configuration in force (a reload swaps it).
  config_holder::ptr config() const { return config_->get(); }

  /// Who may act (cluster mode: the leader only; see control_authority.hpp).
  control_authority& authority() const { return peers_->authority(); }

  /// For api_gateway::start(): the interceptors come from it.
  request_guard& guard() { return guard_; }

  /// Checks the bearer token only: `who` is set when it is valid. The token
  /// itself is never logged.
  grpc::Status authenticate(const grpc::ServerContextBase& ctx, std::string_view call,
                            principal& who) const;

  /// Checks the bearer token, the role and the request's size (see request_guard).
  grpc::Status authorize(const grpc::ServerContextBase& ctx, config::api_role needed,
                         std::string_view call, principal& who) const;

  /// Asks the subsystem `who`; `unavailable` when it is not
  /// running, the actor's error, or a timeout after `timeout`.
  template <class Reply, class... Ts>
  caf::expected<Reply> ask_within(peer who, std::chrono::seconds timeout, Ts&&... xs) {
    auto dest = find(who);
    if (!dest)
      return std::move(dest.error());
    caf::scoped_actor self{sys_};
    caf::expected<Reply> result = make_sy_error(sy_errc::unavailable, "no reply");
    self->request(*dest, timeout, std::forward<Ts>(xs)...)
        .receive([&](Reply& r) { result = std::move(r); }, [&](caf::error& e) { result = e; });
    return result;
  }

private:
  friend class api_call;

  caf::expected<caf::actor> find(peer who) const;

  // A request gRPC could not parse (the handler never ran; see request_guard):
  // UNAUTHENTICATED without a valid token, otherwise INVALID_ARGUMENT;
  // audited like any refusal when the call is a mutating one.
  grpc::Status refuse_malformed(const grpc::ServerContextBase& ctx, const api_method& method);

  caf::actor_system& sys_;
  peers_ptr peers_;
  std::shared_ptr<config_holder> config_;
  std::vector<config::api_token> tokens_;
  request_guard guard_;
  refusal_limiter refusals_; ///< the audit rows of refused calls, per caller address
  metrics::counter& audit_left_out_;
};

/// One call. A read is only authorized; a mutating call is audited: every
/// refusal (refuse: rate-limited per caller address, see refusal_limiter),
/// the request before anything happens (requested: the call is refused when
/// it cannot be written), then its outcome (finish, fail or outcome). A row
/// is bounded (api_limits.hpp: arguments and result clipped); an
/// unauthenticated caller's row has no arguments.
class api_call {
public:
  /// A read: needs `role`; nothing of it is audited.
  api_call(api_core& core, const grpc::ServerContextBase& ctx, std::string name,
           config::api_role role);
  /// A mutating call with its `arguments` (for the audit trail).
  api_call(api_core& core, const grpc::ServerContextBase& ctx, std::string name,
           config::api_role role, const nlohmann::json& arguments);

  /// The token, the role and the request's size: OK, or the refusal (audited
  /// for a mutating call). Every handler calls it first. In cluster mode a
  /// mutating call other than Reload is then refused with UNAVAILABLE when
  /// this replica may not act (peers->authority(); not_leader_message names
  /// the leader to send it to).
  [[nodiscard]] grpc::Status authorize();
  /// Before authorize(): this mutation concerns this replica's own state (a
  /// backup of its own database), so a replica that is not the leader does
  /// it too.
  void on_this_replica() { replica_local_ = true; }

  /// The caller (after authorize()).
  const principal& who() const { return who_; }
  /// The configuration in force when the call began: one snapshot per call.
  const config::switchyard_config& config() const { return *config_; }

  /// A refusal before anything happened (a check of the request failed):
  /// returns `st`, audited for a mutating call.
  [[nodiscard]] grpc::Status refuse(const grpc::Status& st);

  /// Takes a place under `limit` (api.max_long_calls) into `slot`; without
  /// one the call is refused with RESOURCE_EXHAUSTED naming the limit.
  [[nodiscard]] grpc::Status hold(concurrency_limit& limit, concurrency_limit::slot& slot);

  /// Writes the request ("requested", "dry run requested") before anything
  /// happens: UNAVAILABLE (nothing may be done) when it cannot be written.
  [[nodiscard]] grpc::Status requested(const std::string& what);

  /// The call ends with `st` after it was requested: its outcome row is
  /// written (a read: nothing). Returns `st`, or the audit failure.
  [[nodiscard]] grpc::Status finish(const grpc::Status& st);
  /// finish() with the status of an actor's error.
  [[nodiscard]] grpc::Status fail(const caf::error& err) { return finish(to_status(err)); }

  /// The outcome row of a call that happened: a lost row cannot undo it,
  /// so it is logged as an error, not returned.
  void outcome(const std::string& text);

  /// Asks the subsystem `who`, waiting at most actor_timeout.
  template <class Reply, class... Ts> caf::expected<Reply> ask(peer who, Ts&&... xs) {
    return core_.ask_within<Reply>(who, actor_timeout, std::forward<Ts>(xs)...);
  }
  /// Asks with a deadline of its own (a switchover, a site switchover, a drill).
  template <class Reply, class... Ts>
  caf::expected<Reply> ask_within(peer who, std::chrono::seconds timeout, Ts&&... xs) {
    return core_.ask_within<Reply>(who, timeout, std::forward<Ts>(xs)...);
  }

private:
  friend class api_core;
  bool replica_local_ = false;

  grpc::Status record(const std::string& result);

  api_core& core_;
  const grpc::ServerContextBase& ctx_;
  std::string name_;
  config::api_role role_;
  bool audited_;
  std::string arguments_; ///< the audit row's arguments (audit_arguments)
  config_holder::ptr config_;
  principal who_;
};

// Checks of a request's names against the configuration `cfg`.

/// "no service named 'x' (configured: a, b)".
std::string unknown_service_message(const config::switchyard_config& cfg, const std::string& name);
/// INVALID_ARGUMENT unless `site` (named `field`) is given and configured.
grpc::Status check_site(const config::switchyard_config& cfg, const char* field,
                        const std::string& site);
/// Both sites given, configured and different.
grpc::Status check_sites(const config::switchyard_config& cfg, const std::string& from,
                         const std::string& to);
/// An optional service filter: empty means all; otherwise it must be configured (NOT_FOUND).
grpc::Status check_service_filter(const config::switchyard_config& cfg, const std::string& svc);
/// NOT_FOUND unless `svc` is configured and `instance` (if given) is one of its instances.
grpc::Status check_target(const config::switchyard_config& cfg, const std::string& svc,
                          const std::string& instance);

} // namespace switchyard::actors
