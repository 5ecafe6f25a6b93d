// The Prometheus text parser (pure) and what the scraper extracts from it:
// counters over label sets, histogram _sum/_count, gauges, comments, labels
// with escapes, timestamps, special values and malformed lines.
#include <cmath>

#include <gtest/gtest.h>

#include "actors/metrics_scraper.hpp"
#include "observability/prometheus_text.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

constexpr const char* exposition = R"(# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# A comment that is neither HELP nor TYPE.
http_requests_errors_total{code="500"} 7
http_requests_errors_total{code="503"} 2.5e1
# Escapes and odd spacing in labels, a trailing comma.
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\"",} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum{handler="/"} 53423
http_request_duration_seconds_count{handler="/"} 144320
process_open_fds	 42
)";

} // namespace

TEST(prometheus_text, reads_samples_labels_and_values) {
  auto text = parse_prometheus_text(exposition);
  EXPECT_EQ(text.malformed, 0u) << text.first_error;
  ASSERT_EQ(text.samples.size(), 12u);
  const auto& first = text.samples[0];
  EXPECT_EQ(first.name, "http_requests_total");
  EXPECT_EQ(first.labels.at("method"), "post");
  EXPECT_EQ(first.labels.at("code"), "200");
  EXPECT_DOUBLE_EQ(first.value, 1027); // the timestamp is not the value
  const auto& escaped = text.samples[4];
  EXPECT_EQ(escaped.name, "msdos_file_access_time_seconds");
  EXPECT_EQ(escaped.labels.at("path"), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(escaped.labels.at("error"), "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_DOUBLE_EQ(escaped.value, 1.458255915e9);
  EXPECT_TRUE(text.samples[5].labels.empty());
  EXPECT_TRUE(std::isinf(text.samples[6].value));
  EXPECT_DOUBLE_EQ(*text.sum_of("process_open_fds"), 42) << "a tab separates the value too";
}

TEST(prometheus_text, sums_a_metric_over_its_label_sets) {
  auto text = parse_prometheus_text(exposition);
  EXPECT_DOUBLE_EQ(*text.sum_of("http_requests_total"), 1030);
  EXPECT_DOUBLE_EQ(*text.sum_of("http_requests_errors_total"), 32);
  EXPECT_DOUBLE_EQ(*text.sum_of("http_request_duration_seconds_sum"), 53423);
  EXPECT_FALSE(text.sum_of("http_requests")) << "names match whole";
  EXPECT_FALSE(text.sum_of("not_there"));
}

TEST(prometheus_text, skips_and_counts_malformed_lines) {
  auto text = parse_prometheus_text("good 1\n"
                                    "bad{label=\"unterminated} 2\n"
                                    "9starts_with_a_digit 3\n"
                                    "no_value\n"
                                    "not_a_number abc\n"
                                    "extra 1 2 3\n"
                                    "also_good{a=\"b\"} -2\r\n");
  EXPECT_EQ(text.malformed, 5u);
  EXPECT_EQ(text.first_error.rfind("line 2: ", 0), 0u) << text.first_error;
  ASSERT_EQ(text.samples.size(), 2u);
  EXPECT_DOUBLE_EQ(*text.sum_of("good"), 1);
  EXPECT_DOUBLE_EQ(*text.sum_of("also_good"), -2);
}

TEST(prometheus_text, empty_and_comment_only_text_has_no_samples) {
  EXPECT_TRUE(parse_prometheus_text("").samples.empty());
  auto text = parse_prometheus_text("# HELP x\n# TYPE x counter\n\n   \n");
  EXPECT_TRUE(text.samples.empty());
  EXPECT_EQ(text.malformed, 0u);
}

TEST(metrics_extraction, takes_counters_and_a_histogram_s_mean_in_seconds) {
  config::metrics_settings m;
  m.latency = "http_request_duration_seconds";
  auto s = extract_metrics(parse_prometheus_text(exposition), m);
  EXPECT_TRUE(s.has_requests);
  EXPECT_DOUBLE_EQ(s.requests, 1030);
  EXPECT_TRUE(s.has_errors);
  EXPECT_DOUBLE_EQ(s.errors, 32);
  EXPECT_EQ(s.latency, latency_metric::histogram);
  EXPECT_DOUBLE_EQ(s.latency_sum, 53423);
  EXPECT_DOUBLE_EQ(s.latency_count, 144320);
}

TEST(metrics_extraction, a_gauge_and_milliseconds_by_name) {
  config::metrics_settings m;
  m.requests_counter = "requests";
  m.errors_counter = "absent";
  m.latency = "mean_latency_ms";
  auto s =
      extract_metrics(parse_prometheus_text("requests 5\nmean_latency_ms{pool=\"a\"} 250\n"), m);
  EXPECT_TRUE(s.has_requests);
  EXPECT_FALSE(s.has_errors);
  EXPECT_EQ(s.latency, latency_metric::gauge);
  EXPECT_DOUBLE_EQ(s.latency_value, 0.25);
}
