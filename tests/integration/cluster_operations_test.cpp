// What the cluster's leader does besides failing over, surviving its death
// (replicas_fixture.hpp): a maintenance window set at the leader still holds
// back the next leader's automatic failover until an operator ends it there;
// a site switchover whose leader died is carried through by the next leader
// when it was decided (committed), aborted when it was not (each prepare
// rolled back), and journaled there as taken over.
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/replicas_fixture.hpp"
#include "tests/integration/site_services.hpp"

namespace switchyard::testing {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The line of `text` that starts with `first` and a space (a table row), "" if none.
std::string row_of(const std::string& text, const std::string& first) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(first + " ", 0) == 0)
      return line;
  return {};
}

TEST_F(cluster_replicas, a_maintenance_window_outlives_its_leader) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  for (auto& r : replicas)
    ASSERT_TRUE(both_healthy(r)) << r.name << logs();

  // A follower refuses it, naming the leader, as every mutation.
  auto* follower = leader == &replicas[0] ? &replicas[1] : &replicas[0];
  auto refused =
      cli_at(*follower, {"maintenance", "on", "web", "--reason", "storage upgrade", "--yes"},
             "operator-token");
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_TRUE(contains(refused.output,
                       fmt::format("not the leader: this replica ({}) does not lead; the leader is "
                                   "{} at 127.0.0.1:{}",
                                   follower->name, leader->name, leader->api)))
      << refused.output;

  auto on = cli_at(*leader, {"maintenance", "on", "web", "--reason", "storage upgrade", "--yes"},
                   "operator-token");
  ASSERT_EQ(on.exit_code, 0) << on.output << logs();
  EXPECT_TRUE(contains(on.output, "service is in maintenance")) << on.output;
  const std::string window = "IN MAINTENANCE: storage upgrade (by test-operator";
  EXPECT_TRUE(contains(cli_at(*leader, {"service", "web"}).output, window))
      << cli_at(*leader, {"service", "web"}).output;

  // The leader dies; the window is the cluster's, not its own.
  leader->process->signal(SIGKILL);
  leader->process->wait_for_exit(5s);
  leader->process.reset();
  auto* next = wait_for_leader(15s, leader);
  ASSERT_NE(next, nullptr) << logs();
  for (auto& r : replicas) {
    if (!r.process)
      continue;
    EXPECT_TRUE(wait_until(
        [&] {
          return contains(cli_at(r, {"service", "web"}).output, window);
        },
        15s))
        << r.name << (&r == next ? " (the next leader)" : "") << ":\n"
        << cli_at(r, {"service", "web"}).output << logs();
  }
  ASSERT_TRUE(contains(cli_at(*next, {"service", "web"}).output, window)) << "see above";

  // The primary dies: the next leader sees it down and holds back for the window.
  web_a->signal(SIGKILL);
  const std::string held = "blocked: service in maintenance (storage upgrade by test-operator";
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = cli_at(*next, {"service", "web"}).output;
        return contains(row_of(s, "web-a"), "unhealthy") && contains(s, "last decision: ") &&
               contains(s, held);
      },
      15s))
      << cli_at(*next, {"service", "web"}).output << logs();
  auto shown = cli_at(*next, {"service", "web"}).output;
  EXPECT_TRUE(contains(shown, "service web: primary web-a (epoch 1)")) << shown;
  for (const auto& r : replicas)
    EXPECT_EQ(count_lines_with(read_file(r.actions), "promote"), 0)
        << r.name << " failed over in maintenance:\n"
        << read_file(r.actions);

  // Ended at the next leader: it fails over the primary that is still down.
  auto off = cli_at(*next, {"maintenance", "off", "web", "--yes"}, "operator-token");
  ASSERT_EQ(off.exit_code, 0) << off.output << logs();
  EXPECT_TRUE(contains(off.output, "out of maintenance")) << off.output;
  ASSERT_TRUE(failed_over_by(*next)) << cli_at(*next, {"service", "web"}).output << logs();
  EXPECT_TRUE(wait_until(
      [&] {
        return contains(cli_at(*next, {"service", "web"}).output, "primary web-b");
      },
      10s))
      << cli_at(*next, {"service", "web"}).output;
  for (const auto& r : replicas)
    if (&r != next) {
      EXPECT_EQ(read_file(r.actions), "") << r.name << " acted but does not lead";
    }
}

// Three replicas guarding the four site services (site_services.hpp) besides
// web, each replica's actions appending to its own log.
class cluster_sites : public cluster_replicas {
protected:
  void SetUp() override {
    extra_yaml = site_declarations();
    cluster_replicas::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_EQ(silent, "") << "did not answer";
  }

  void configure_replica(replica& r) override {
    if (instances.empty()) // the replicas' own ports are taken already
      silent = start_site_instances(root, ports, instances);
    extra_services = site_services_yaml(ports, root, r.actions);
  }

  /// `r` sees all five services with both instances healthy (within a bound).
  bool all_healthy(const replica& r) {
    return wait_until(
        [&] {
          auto out = cli_at(r, {"services"});
          return out.exit_code == 0 && lines_with(out.output, "2/2 healthy").size() == 5;
        },
        20s);
  }

  /// A site command at `r`; retried while it is still starting (or
  /// recovering unfinished site switchovers): it refuses new ones until then.
  cli_result site_cli_at(const replica& r, const std::vector<std::string>& args) {
    cli_result out;
    (void)wait_until(
        [&] {
          out = cli_at(r, args, "operator-token");
          return !contains(out.output, "still starting") &&
                 !contains(out.output, "the recovery of unfinished");
        },
        20s);
    return out;
  }

  std::string role(const std::string& instance) {
    auto reply = http_request("GET", ports[instance], "/role");
    return contains(reply, "primary") ? "primary" : "standby";
  }

  /// Every site service is primary on `side` ("a": dc1, "b": dc2), standby on the other.
  bool all_on(const std::string& side) {
    const std::string other = side == "a" ? "b" : "a";
    for (const auto& svc : site_service_names())
      if (role(svc + "-" + side) != "primary" || role(svc + "-" + other) != "standby")
        return false;
    return true;
  }

  std::string roles() {
    std::string out;
    for (const auto& [name, port] : ports)
      out += name + "=" + role(name) + " ";
    return out;
  }

  std::string all_actions() {
    std::string out;
    for (const auto& r : replicas)
      out += read_file(r.actions);
    return out;
  }

  std::string action_logs() {
    std::string out;
    for (const auto& r : replicas)
      out += "--- actions of " + r.name + "\n" + read_file(r.actions);
    return out;
  }

  /// The id of `r`'s site switchover in `state` whose reason says it took
  /// sy-a's #1 over, "" if there is none (yet).
  std::string taken_over(const replica& r, const std::string& state) {
    auto list = cli_at(r, {"--output", "json", "site", "list"});
    if (list.exit_code != 0)
      return {};
    auto doc = nlohmann::json::parse(list.output, nullptr, false);
    if (doc.is_discarded() || !doc.contains("site_switchovers"))
      return {};
    for (const auto& s : doc["site_switchovers"]) {
      auto reason = s.value("reason", std::string{});
      if (s.value("state", std::string{}) == state && reason.rfind(taken_over_reason, 0) == 0)
        return s["id"].is_string() ? s["id"].get<std::string>() : s["id"].dump();
    }
    return {};
  }

  // Dependencies first: every promote of db and cache precedes every app's.
  void expect_dependency_order(const std::string& log, const std::string& side) {
    for (const auto& svc : site_service_names())
      ASSERT_FALSE(lines_with(log, fmt::format("promote {0} {0}-{1}", svc, side)).empty())
          << svc << "\n"
          << log;
    auto first_app = std::min(lines_with(log, "promote app1 app1-" + side).at(0),
                              lines_with(log, "promote app2 app2-" + side).at(0));
    for (const char* dep : {"db", "cache"})
      EXPECT_LT(lines_with(log, fmt::format("promote {0} {0}-{1}", dep, side)).at(0), first_app)
          << log;
  }

  /// sy-a leads, armed to die at `fault_at`; the others follow; every replica
  /// sees every instance healthy. Then a site switchover dc1 -> dc2 at sy-a,
  /// which dies in it.
  void site_switchover_killing_its_leader(const std::string& fault_at) {
    auto& first = replicas[0];
    start(first, fault_at);
    ASSERT_EQ(wait_for_leader(30s), &first) << logs();
    start(replicas[1]);
    start(replicas[2]);
    ASSERT_TRUE(all_follow(first)) << logs();
    for (auto& r : replicas)
      ASSERT_TRUE(all_healthy(r)) << r.name << ":\n" << cli_at(r, {"services"}).output << logs();

    auto run = site_cli_at(first, {"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
    EXPECT_NE(run.exit_code, 0) << "sy-a died under it: " << run.output;
    ASSERT_EQ(first.process->wait_for_exit(20s), 128 + SIGKILL)
        << "it should have died at " << fault_at << ": " << run.output << "\n"
        << tail(first.dir + "/switchyardd.log");
    first.process.reset();
    EXPECT_EQ(count_lines_with(read_file(first.actions), "promote "), 0)
        << "sy-a promoted before it died:\n"
        << read_file(first.actions);
  }

  const std::string taken_over_reason = "taken over: site switchover #1 begun by sy-a";
  std::map<std::string, std::uint16_t> ports;
  std::map<std::string, std::unique_ptr<child_process>> instances;
  std::string silent; ///< a site instance that did not answer at start, if any
};

TEST_F(cluster_sites, committed_when_its_leader_died_it_is_carried_through_by_the_next) {
  site_switchover_killing_its_leader("site_committed");
  if (HasFatalFailure())
    return;
  auto& first = replicas[0];
  auto* next = wait_for_leader(15s, &first);
  ASSERT_NE(next, nullptr) << logs();

  ASSERT_TRUE(wait_until([&] { return all_on("b"); }, 45s)) << roles() << "\n"
                                                            << action_logs() << logs();
  std::string id;
  ASSERT_TRUE(wait_until([&] { return !(id = taken_over(*next, "completed")).empty(); }, 20s))
      << cli_at(*next, {"--output", "json", "site", "list"}).output << logs();
  auto shown = cli_at(*next, {"site", "show", id});
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_TRUE(contains(shown.output, "from dc1 to dc2: completed")) << shown.output;
  EXPECT_TRUE(contains(shown.output, taken_over_reason)) << shown.output;

  // Each service promoted once in all, by the next leader, dependencies first.
  auto actions = all_actions();
  for (const auto& svc : site_service_names())
    EXPECT_EQ(count_lines_with(actions, fmt::format("promote {0} {0}-b", svc)), 1) << svc << "\n"
                                                                                   << action_logs();
  expect_dependency_order(read_file(next->actions), "b");
  EXPECT_TRUE(all_on("b")) << roles();
}

TEST_F(cluster_sites, undecided_when_its_leader_died_it_is_aborted_by_the_next) {
  site_switchover_killing_its_leader("site_prepared");
  if (HasFatalFailure())
    return;
  auto& first = replicas[0];
  EXPECT_EQ(count_lines_with(read_file(first.actions), "prepare "), 4)
      << "every participant prepared before sy-a died:\n"
      << read_file(first.actions);
  auto* next = wait_for_leader(15s, &first);
  ASSERT_NE(next, nullptr) << logs();

  std::string id;
  ASSERT_TRUE(wait_until([&] { return !(id = taken_over(*next, "aborted")).empty(); }, 30s))
      << cli_at(*next, {"--output", "json", "site", "list"}).output << action_logs() << logs();
  auto shown = cli_at(*next, {"site", "show", id});
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_TRUE(contains(shown.output, "from dc1 to dc2: aborted")) << shown.output;
  EXPECT_TRUE(contains(shown.output, taken_over_reason)) << shown.output;
  // Each prepare rolled back; nothing promoted; everything still on dc1.
  EXPECT_TRUE(wait_until(
      [&] {
        auto actions = all_actions();
        for (const auto& svc : site_service_names())
          if (lines_with(actions, "unprepare " + svc).empty())
            return false;
        return true;
      },
      10s))
      << action_logs();
  EXPECT_TRUE(lines_with(all_actions(), "promote ").empty()) << action_logs();
  EXPECT_TRUE(all_on("a")) << roles();

  // Nothing stays reserved: a site switchover at the next leader runs now.
  ASSERT_TRUE(all_healthy(*next)) << cli_at(*next, {"services"}).output << logs();
  auto again = site_cli_at(*next, {"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  EXPECT_EQ(again.exit_code, 0) << again.output << logs();
  EXPECT_TRUE(all_on("b")) << roles() << "\n" << action_logs();
}

} // namespace
} // namespace switchyard::testing
