// Plan export renderers, fed with plans made by the real active-passive
// strategy: JSON and YAML read back, the Markdown runbook's order and
// sections, and DOT accepted by the real Graphviz.
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "messages/error.hpp"
#include "renderers/plan_export.hpp"
#include "strategies/active_passive.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::renderers;

namespace {

using health_map = std::map<std::string, health_status>;

const std::string generated_at = "2024-05-01T12:00:00Z";

config::action_settings act(std::string name, std::string command, std::string rollback = {}) {
  config::action_settings a;
  a.name = std::move(name);
  a.command = std::move(command);
  a.rollback = std::move(rollback);
  a.timeout = 2s;
  return a;
}

config::instance_settings instance(std::string name, std::string host, std::uint16_t port,
                                   std::string site, config::instance_role role, int priority) {
  return {std::move(name), std::move(host), port, std::move(site), role, priority, {}};
}

/// Three instances over two sites; fence and reroute can be undone.
config::service_settings web_service() {
  config::service_settings s;
  s.name = "web";
  s.health_check.type = config::check_type::http;
  s.health_check.interval = 500ms;
  s.health_check.timeout = 300ms;
  s.health_check.fall = 2;
  s.objective.rto = 90s;
  s.objective.rpo = 500ms;
  s.block_period = 5min;
  s.instances.push_back(
      instance("web-a", "10.0.0.1", 80, "dc1", config::instance_role::primary, 100));
  s.instances.push_back(
      instance("web-b", "10.0.0.2", 80, "dc1", config::instance_role::standby, 50));
  s.instances.push_back(
      instance("web-c", "10.0.0.3", 8080, "dc2", config::instance_role::standby, 90));
  s.strategy.fence.push_back(
      act("fence-old", "fence-host $SWITCHYARD_TARGET", "unfence-host $SWITCHYARD_TARGET"));
  s.strategy.promote.push_back(act("promote-new", "pg_ctl promote"));
  s.strategy.reroute.push_back(act("reroute", "lb-switch $SWITCHYARD_NEW_PRIMARY_ADDRESS",
                                   "lb-switch $SWITCHYARD_OLD_PRIMARY_ADDRESS"));
  s.strategy.verify.push_back(act("verify", "check-writes"));
  return s;
}

/// web-a is down, web-c (priority 90) beats web-b (50).
const health_map web_health{{"web-a", health_status::unhealthy},
                            {"web-b", health_status::healthy},
                            {"web-c", health_status::healthy}};

/// Plans with the real strategy; a planning failure becomes the entry's note.
plan_export_entry entry_for(const config::service_settings& s, const std::string& primary,
                            health_map health, std::uint64_t epoch) {
  plan_export_entry e;
  e.service = &s;
  e.current_primary = primary;
  e.epoch = epoch;
  e.health = health;
  strategies::active_passive strategy{s};
  if (auto p = strategy.plan(strategies::planning_input{&s, primary, std::move(health)}))
    e.plan = std::move(*p);
  else
    e.note = describe(p.error());
  return e;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class plan_export_test : public ::testing::Test {
protected:
  config::service_settings web = web_service();
  config::service_settings batch = [] {
    auto s = web_service();
    s.name = "batch";
    for (auto& inst : s.instances)
      inst.name = "batch" + inst.name.substr(3);
    return s;
  }();

  /// web has a plan; batch has none (no standby is healthy).
  std::vector<plan_export_entry> entries() const {
    auto w = entry_for(web, "web-a", web_health, 7);
    EXPECT_TRUE(w.plan.has_value()) << w.note;
    auto b = entry_for(batch, "batch-a", {{"batch-b", health_status::unhealthy}}, 3);
    EXPECT_FALSE(b.plan.has_value());
    return {w, b};
  }
};

} // namespace

TEST(plan_export_format, parses_the_four_names_and_md_and_rejects_others) {
  EXPECT_EQ(parse_export_format("json"), export_format::json);
  EXPECT_EQ(parse_export_format("yaml"), export_format::yaml);
  EXPECT_EQ(parse_export_format("markdown"), export_format::markdown);
  EXPECT_EQ(parse_export_format("md"), export_format::markdown);
  EXPECT_EQ(parse_export_format("dot"), export_format::dot);
  for (const char* other : {"", "JSON", "yml", "svg", "markdown ", "graphviz"})
    EXPECT_EQ(parse_export_format(other), std::nullopt) << "'" << other << "'";
  for (auto f :
       {export_format::json, export_format::yaml, export_format::markdown, export_format::dot})
    EXPECT_EQ(parse_export_format(to_string(f)), f);
}

TEST_F(plan_export_test, json_reads_back_with_the_plan_and_rollbacks) {
  auto all = entries();
  auto doc = nlohmann::json::parse(render_plans(all, export_format::json, generated_at));
  EXPECT_EQ(doc["generated_at"], generated_at);
  ASSERT_EQ(doc["services"].size(), 2u);
  const auto& svc = doc["services"][0];
  EXPECT_EQ(svc["service"], "web");
  EXPECT_EQ(svc["strategy"], "active_passive");
  EXPECT_EQ(svc["primary"], "web-a");
  EXPECT_EQ(svc["epoch"], 7);
  EXPECT_EQ(svc["rto_ms"], 90'000);
  EXPECT_EQ(svc["rpo_ms"], 500);
  EXPECT_EQ(svc["block_period_ms"], 300'000);
  ASSERT_EQ(svc["instances"].size(), 3u);
  EXPECT_EQ(svc["instances"][0]["name"], "web-a");
  EXPECT_EQ(svc["instances"][0]["health"], "unhealthy");
  EXPECT_EQ(svc["instances"][0]["primary"], true);
  EXPECT_EQ(svc["instances"][2]["address"], "10.0.0.3:8080");
  EXPECT_EQ(svc["instances"][2]["site"], "dc2");
  EXPECT_EQ(svc["instances"][2]["priority"], 90);
  EXPECT_EQ(svc["instances"][2]["primary"], false);
  EXPECT_TRUE(svc["note"].is_null());

  const auto& plan = svc["plan"];
  const auto& made = *all[0].plan;
  EXPECT_EQ(plan["from"], "web-a");
  EXPECT_EQ(plan["to"], "web-c");
  EXPECT_EQ(plan["candidates"], (nlohmann::json{"web-c", "web-b"}));
  EXPECT_EQ(plan["triggers"], made.triggers);
  EXPECT_EQ(plan["rollback_criteria"], made.rollback_criteria);
  // 2 x 500 ms + 300 ms detection, 4 steps x 2 s
  EXPECT_EQ(plan["estimated_ms"], 9'300);
  const auto& steps = plan["steps"];
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0]["sequence"], 1);
  EXPECT_EQ(steps[0]["phase"], "fence");
  EXPECT_EQ(steps[0]["name"], "fence-old");
  EXPECT_EQ(steps[0]["target"], "web-a");
  EXPECT_EQ(steps[0]["description"], "fence-host $SWITCHYARD_TARGET");
  EXPECT_EQ(steps[0]["timeout_ms"], 2'000);
  EXPECT_EQ(steps[0]["rollback"], "unfence-host $SWITCHYARD_TARGET");
  EXPECT_EQ(steps[1]["phase"], "promote");
  EXPECT_EQ(steps[1]["target"], "web-c");
  EXPECT_TRUE(steps[1]["rollback"].is_null());
  EXPECT_EQ(steps[2]["rollback"], "lb-switch $SWITCHYARD_OLD_PRIMARY_ADDRESS");
  EXPECT_EQ(steps[3]["sequence"], 4);
  EXPECT_EQ(steps[3]["phase"], "verify");

  const auto& none = doc["services"][1];
  EXPECT_EQ(none["service"], "batch");
  EXPECT_TRUE(none["plan"].is_null());
  EXPECT_EQ(none["note"], "no_failover_target: no healthy standby for service 'batch' "
                          "(batch-b: unhealthy, batch-c: unknown)");
}

TEST_F(plan_export_test, yaml_reads_back_with_the_same_structure_as_json) {
  auto all = entries();
  auto doc = YAML::Load(render_plans(all, export_format::yaml, generated_at));
  auto json = nlohmann::json::parse(render_plans(all, export_format::json, generated_at));
  EXPECT_EQ(doc["generated_at"].as<std::string>(), generated_at);
  ASSERT_EQ(doc["services"].size(), 2u);
  auto svc = doc["services"][0];
  EXPECT_EQ(svc["service"].as<std::string>(), "web");
  EXPECT_EQ(svc["epoch"].as<std::uint64_t>(), 7u);
  EXPECT_EQ(svc["instances"][0]["primary"].as<bool>(), true);
  EXPECT_EQ(svc["instances"][1]["primary"].as<bool>(), false);
  EXPECT_TRUE(svc["note"].IsNull());

  auto plan = svc["plan"];
  EXPECT_EQ(plan["from"].as<std::string>(), "web-a");
  EXPECT_EQ(plan["to"].as<std::string>(), "web-c");
  EXPECT_EQ(plan["candidates"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"web-c", "web-b"}));
  auto steps = plan["steps"];
  ASSERT_EQ(steps.size(), 4u);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i]["sequence"].as<int>(), json["services"][0]["plan"]["steps"][i]["sequence"]);
    EXPECT_EQ(steps[i]["phase"].as<std::string>(),
              json["services"][0]["plan"]["steps"][i]["phase"]);
    EXPECT_EQ(steps[i]["target"].as<std::string>(),
              json["services"][0]["plan"]["steps"][i]["target"]);
  }
  EXPECT_EQ(steps[0]["rollback"].as<std::string>(), "unfence-host $SWITCHYARD_TARGET");
  EXPECT_TRUE(steps[1]["rollback"].IsNull());

  // Same keys in the same order as the JSON, at every level that has a map.
  auto keys = [](const YAML::Node& map) {
    std::vector<std::string> out;
    for (const auto& kv : map)
      out.push_back(kv.first.as<std::string>());
    return out;
  };
  auto json_keys = [](const nlohmann::json& obj) {
    std::vector<std::string> out;
    for (const auto& [key, value] : obj.items())
      out.push_back(key);
    return out;
  };
  EXPECT_EQ(keys(svc),
            (std::vector<std::string>{"service", "strategy", "primary", "epoch", "rto_ms", "rpo_ms",
                                      "block_period_ms", "instances", "plan", "note"}));
  EXPECT_EQ(keys(plan), (std::vector<std::string>{"from", "to", "candidates", "triggers",
                                                  "rollback_criteria", "estimated_ms", "steps"}));
  std::vector<std::string> step_keys = keys(steps[0]);
  std::sort(step_keys.begin(), step_keys.end());
  auto expected_step_keys = json_keys(json["services"][0]["plan"]["steps"][0]);
  EXPECT_EQ(step_keys, expected_step_keys); // nlohmann::json sorts its keys

  EXPECT_TRUE(doc["services"][1]["plan"].IsNull());
  EXPECT_EQ(doc["services"][1]["note"].as<std::string>(), json["services"][1]["note"]);
}

TEST_F(plan_export_test, yaml_quotes_strings_other_readers_would_take_for_bools_or_numbers) {
  web.instances[1].site = "1";
  web.instances[2].site = "yes";
  web.strategy.verify[0].command = "true";
  auto doc = YAML::Load(
      render_plans({entry_for(web, "web-a", web_health, 1)}, export_format::yaml, generated_at));
  auto instances = doc["services"][0]["instances"];
  // yaml-cpp tags a quoted scalar "!" and a plain one "?".
  EXPECT_EQ(instances[1]["site"].Tag(), "!");
  EXPECT_EQ(instances[1]["site"].as<std::string>(), "1");
  EXPECT_EQ(instances[2]["site"].Tag(), "!");
  EXPECT_EQ(instances[0]["site"].Tag(), "?") << "plain where it is safe";
  auto verify = doc["services"][0]["plan"]["steps"][3];
  EXPECT_EQ(verify["description"].Tag(), "!");
  EXPECT_EQ(verify["description"].as<std::string>(), "true");
  EXPECT_EQ(verify["timeout_ms"].Tag(), "?") << "numbers stay numbers";
}

TEST_F(plan_export_test, markdown_runbook_lists_steps_in_order_then_rollback_and_undo) {
  auto all = entries();
  const auto& made = *all[0].plan;
  auto md = render_plans(all, export_format::markdown, generated_at);
  EXPECT_EQ(md.rfind("# Failover runbook\n", 0), 0u) << md;
  EXPECT_NE(md.find(generated_at), std::string::npos);
  auto at = [&](const std::string& text) {
    auto pos = md.find(text);
    EXPECT_NE(pos, std::string::npos) << "missing: " << text << "\n" << md;
    return pos;
  };
  std::vector<std::size_t> order{
      at("## web\n"),
      at("| web-a | 10.0.0.1:80 | dc1 | 100 | unhealthy | **primary** |"),
      at("| web-c | 10.0.0.3:8080 | dc2 | 90 | healthy | standby |"),
      at("- RTO: 1 m 30 s\n- RPO: 500 ms\n- Block period: 5 m"),
      at("- Estimated failover time: 9 s 300 ms"),
      at("- " + made.triggers.front() + "\n"),
      at("### Steps\n"),
      at("export SWITCHYARD_NEW_PRIMARY_ADDRESS=10.0.0.3:8080\n"),
      at("1. **fence** on **web-a** (10.0.0.1:80): run `fence-host $SWITCHYARD_TARGET`\n"),
      at("   - action `fence-old` (exec), timeout 2 s; at most 2 s elapsed when it ends\n"),
      at("2. **promote** on **web-c** (10.0.0.3:8080): run `pg_ctl promote`\n"),
      at("3. **reroute** on **web-c** (10.0.0.3:8080): run "
         "`lb-switch $SWITCHYARD_NEW_PRIMARY_ADDRESS`\n"),
      at("4. **verify** on **web-c** (10.0.0.3:8080): run `check-writes`\n"),
      at("at most 8 s elapsed when it ends\n"),
      at("### Roll back if\n"),
      at("- " + made.rollback_criteria.front() + "\n"),
      at("- " + made.rollback_criteria.back() + "\n"),
      at("### Undo\n"),
      at("1. Undo step 3 (`reroute`) on **web-c** (10.0.0.3:8080): run "
         "`lb-switch $SWITCHYARD_OLD_PRIMARY_ADDRESS`\n"),
      at("2. Undo step 1 (`fence-old`) on **web-a** (10.0.0.1:80): run "
         "`unfence-host $SWITCHYARD_TARGET`\n"),
      at("## batch\n"),
      at("**No failover plan.** no_failover_target: no healthy standby for service 'batch'"),
  };
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << md;
  EXPECT_NE(md.find("SWITCHYARD_TARGET=web-a SWITCHYARD_PHASE=fence SWITCHYARD_STEP=fence-old"),
            std::string::npos);
  auto batch_section = md.substr(md.find("## batch\n"));
  EXPECT_EQ(batch_section.find("### Steps"), std::string::npos) << "no steps without a plan";
}

TEST_F(plan_export_test, markdown_escapes_table_cells_and_code_spans) {
  web.instances[1].site = "dc|1";
  web.strategy.verify[0].command = "echo `date` ok";
  web.strategy.promote[0].command = "promote\nwait-for-primary";
  auto e = entry_for(web, "web-a", web_health, 1);
  e.note = "no standby is healthy now: planned as if web-c were";
  auto md = render_plans({e}, export_format::markdown, generated_at);
  EXPECT_NE(md.find("| web-b | 10.0.0.2:80 | dc\\|1 | 50 |"), std::string::npos) << md;
  EXPECT_NE(md.find("run ``echo `date` ok``\n"), std::string::npos) << md;
  EXPECT_NE(md.find("run this:\n\n   ```sh\n   promote\n   wait-for-primary\n   ```\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("> **Note:** no standby is healthy now: planned as if web-c were"),
            std::string::npos)
      << md;
}

TEST_F(plan_export_test, dot_draws_sites_as_clusters_and_the_failover_edges) {
  auto dot = render_plans(entries(), export_format::dot, generated_at);
  EXPECT_EQ(dot.rfind("digraph switchyard {\n", 0), 0u) << dot;
  for (const char* text : {"subgraph \"cluster_dc1\" {", "subgraph \"cluster_dc1_web\" {",
                           "subgraph \"cluster_dc2_web\" {", "subgraph \"cluster_dc1_batch\" {",
                           "\"web/web-a\" -> \"web/web-c\" [label=\"fails over to\"",
                           "\"web/web-a\" -> \"web/web-b\" [label=\"candidate 2\", style=dashed]",
                           "label=\"web-a\\nprimary\\nunhealthy\""})
    EXPECT_NE(dot.find(text), std::string::npos) << "missing: " << text << "\n" << dot;
  EXPECT_EQ(dot.find("\"batch/batch-a\" ->"), std::string::npos) << "no plan, no edges";
}

TEST_F(plan_export_test, dot_with_quotes_spaces_and_backslashes_is_accepted_by_graphviz) {
  auto odd = web_service();
  odd.name = "pay \"eu\" svc";
  odd.instances[0].name = "db \"one\"";
  odd.instances[1].name = "db\\two\\";
  odd.instances[2].name = "db three";
  odd.instances[2].site = "eu \"east\"";
  auto all = entries();
  all.push_back(entry_for(odd, "db \"one\"", {{"db three", health_status::healthy}}, 1));
  ASSERT_TRUE(all.back().plan.has_value()) << all.back().note;

  switchyard::testing::temp_dir dir;
  auto in = dir.write("plans.dot", render_plans(all, export_format::dot, generated_at));
  auto out = (dir.path() / "plans.svg").string();
  auto err = (dir.path() / "dot.err").string();
  auto status = std::system(fmt::format("dot -Tsvg '{}' -o '{}' 2> '{}'", in, out, err).c_str());
  ASSERT_NE(status, -1);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << slurp(err) << "\n" << slurp(in);
  EXPECT_EQ(slurp(err), "") << "Graphviz warned about the input";
  auto svg = slurp(out);
  ASSERT_FALSE(svg.empty());
  // Graphviz writes text XML-escaped, '-' included.
  auto xml = [](std::string_view text) {
    std::string escaped;
    for (char c : text) {
      switch (c) {
      case '"':
        escaped += "&quot;";
        break;
      case '-':
        escaped += "&#45;";
        break;
      default:
        escaped += c;
      }
    }
    return escaped;
  };
  for (const auto* svc : {&web, &batch, &odd})
    for (const auto& inst : svc->instances)
      EXPECT_NE(svg.find(">" + xml(inst.name) + "</text>"), std::string::npos) << inst.name << "\n"
                                                                               << svg;
  EXPECT_NE(svg.find(">" + xml("eu \"east\"") + "</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">fails over to</text>"), std::string::npos);
}

namespace {

// Compares a YAML document with the JSON export of the same plans, value by
// value: strings must read back as the same strings (a quoted scalar is
// tagged "!"; a string must never come back as a bool, a number or null).
void expect_same_tree(const YAML::Node& y, const nlohmann::json& j, const std::string& where) {
  switch (j.type()) {
  case nlohmann::json::value_t::object:
    ASSERT_TRUE(y.IsMap()) << where;
    ASSERT_EQ(y.size(), j.size()) << where;
    for (const auto& [key, value] : j.items())
      expect_same_tree(y[key], value, where + "." + key);
    return;
  case nlohmann::json::value_t::array:
    ASSERT_TRUE(y.IsSequence()) << where;
    ASSERT_EQ(y.size(), j.size()) << where;
    for (std::size_t i = 0; i < j.size(); ++i)
      expect_same_tree(y[i], j[i], where + "[" + std::to_string(i) + "]");
    return;
  case nlohmann::json::value_t::string: {
    ASSERT_TRUE(y.IsScalar()) << where;
    auto text = j.get<std::string>();
    EXPECT_EQ(y.as<std::string>(), text) << where;
    if (y.Tag() == "?") { // plain: must not look like anything else to any reader
      EXPECT_FALSE(text.empty()) << where;
      for (std::string word : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}) {
        std::string lower = text;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        EXPECT_NE(lower, word) << where;
      }
      EXPECT_EQ(std::string_view("0123456789-+.~").find(text.front()), std::string_view::npos)
          << where << ": starts like a number";
    }
    return;
  }
  case nlohmann::json::value_t::boolean:
    EXPECT_EQ(y.as<bool>(), j.get<bool>()) << where;
    return;
  case nlohmann::json::value_t::number_integer:
  case nlohmann::json::value_t::number_unsigned:
    EXPECT_EQ(y.as<std::int64_t>(), j.get<std::int64_t>()) << where;
    EXPECT_EQ(y.Tag(), "?") << where << ": numbers stay plain";
    return;
  case nlohmann::json::value_t::number_float:
    EXPECT_DOUBLE_EQ(y.as<double>(), j.get<double>()) << where;
    return;
  default:
    EXPECT_TRUE(y.IsNull()) << where;
  }
}

} // namespace

TEST_F(plan_export_test, yaml_round_trips_nasty_strings) {
  const std::vector<std::string> nasty{"",
                                       " leading",
                                       "trailing ",
                                       "a: b",
                                       "a #b",
                                       "#c",
                                       "- x",
                                       "-",
                                       "? x",
                                       ": x",
                                       "x:",
                                       "x:y",
                                       "yes",
                                       "No",
                                       "ON",
                                       "off",
                                       "null",
                                       "Null",
                                       "~",
                                       "true",
                                       "False",
                                       "y",
                                       "N",
                                       "1",
                                       "0x1F",
                                       "1e3",
                                       "-1",
                                       ".5",
                                       "+1",
                                       ".inf",
                                       "-.Inf",
                                       ".NaN",
                                       "0o17",
                                       "1_000",
                                       "12:30",
                                       "2024-05-01",
                                       "@at",
                                       "`tick",
                                       "'single'",
                                       "\"double\"",
                                       "back\\slash",
                                       "tab\there",
                                       "new\nline",
                                       "cr\rx",
                                       "ctrl\x01x",
                                       "del\x7f",
                                       "{a: 1}",
                                       "[x]",
                                       "*alias",
                                       "&anchor",
                                       "!tag",
                                       "|",
                                       ">",
                                       "%dir",
                                       "a,b",
                                       "<<",
                                       "=",
                                       "é ü 日本",
                                       "line\u2028sep",
                                       "nel\u0085x",
                                       "bom\ufeffx",
                                       "bad\xff"
                                       "byte",
                                       "a  b",
                                       "a\\nb",
                                       "---",
                                       "...",
                                       "# only"};
  for (const auto& s : nasty) {
    auto svc = web;
    svc.instances[1].site = s;
    svc.strategy.verify[0].command = s;
    svc.strategy.fence[0].rollback = s;
    auto entries = std::vector<plan_export_entry>{entry_for(svc, "web-a", web_health, 1)};
    auto yaml = render_plans(entries, export_format::yaml, generated_at);
    auto json = nlohmann::json::parse(render_plans(entries, export_format::json, generated_at));
    YAML::Node doc;
    try {
      doc = YAML::Load(yaml);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "for '" << s << "': " << e.what() << "\n" << yaml;
      continue;
    }
    SCOPED_TRACE("string " +
                 nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    expect_same_tree(doc, json, "");
  }
}
