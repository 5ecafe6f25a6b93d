#include "actors/metrics_scraper.hpp"

#include <memory>

#include <caf/all.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace switchyard::actors {

namespace {

/// A metrics page larger than this is refused rather than parsed.
constexpr std::size_t max_body = 16u << 20;

struct curl_deleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  auto n = size * count;
  if (body->size() + n > max_body)
    return 0; // aborts the transfer (CURLE_WRITE_ERROR)
  body->append(data, n);
  return n;
}

bool ends_with(const std::string& s, const char* suffix) {
  std::string_view tail{suffix};
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string url_host(const std::string& host) {
  if (host.find(':') == std::string::npos)
    return host;
  // An IPv6 literal; its zone's '%' must be escaped in a URL.
  std::string escaped;
  for (char c : host)
    escaped += c == '%' ? std::string{"%25"} : std::string(1, c);
  return "[" + escaped + "]";
}

} // namespace

scrape_target make_scrape_target(const std::string& service,
                                 const config::instance_settings& instance,
                                 const config::metrics_settings& metrics) {
  return {service, instance.name, instance.host, metrics.port != 0 ? metrics.port : instance.port,
          metrics};
}

metrics_scrape extract_metrics(const prometheus_text& text, const config::metrics_settings& m) {
  metrics_scrape out;
  if (auto v = text.sum_of(m.requests_counter)) {
    out.has_requests = true;
    out.requests = *v;
  }
  if (auto v = text.sum_of(m.errors_counter)) {
    out.has_errors = true;
    out.errors = *v;
  }
  if (m.latency.empty())
    return out;
  double unit = ends_with(m.latency, "_ms") || ends_with(m.latency, "_milliseconds") ? 0.001 : 1.0;
  auto sum = text.sum_of(m.latency + "_sum");
  auto count = text.sum_of(m.latency + "_count");
  if (sum && count) {
    out.latency = latency_metric::histogram;
    out.latency_sum = *sum * unit;
    out.latency_count = *count;
  } else if (auto gauge = text.sum_of(m.latency)) {
    out.latency = latency_metric::gauge;
    out.latency_value = *gauge * unit;
  }
  return out;
}

metrics_scrape scrape_once(const scrape_target& t) {
  static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  metrics_scrape out;
  auto fail = [&](std::string why) {
    out.error = std::move(why);
    return out;
  };
  if (!initialized)
    return fail("curl_global_init failed");
  std::unique_ptr<CURL, curl_deleter> curl{curl_easy_init()};
  if (!curl)
    return fail("curl_easy_init failed");
  auto url = fmt::format("http://{}:{}{}", url_host(t.host), t.port, t.metrics.path);
  std::string body;
  auto* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(t.metrics.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); // a worker thread: no SIGALRM tricks
  curl_easy_setopt(c, CURLOPT_PROXY, "");    // straight to the instance, like the probes
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "switchyard-metrics");
  if (auto rc = curl_easy_perform(c); rc != CURLE_OK)
    return fail(fmt::format("GET {}: {}", url,
                            rc == CURLE_WRITE_ERROR ? "response larger than 16 MiB"
                                                    : curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    return fail(fmt::format("GET {}: HTTP {}", url, status));
  auto text = parse_prometheus_text(body);
  out = extract_metrics(text, t.metrics);
  if (!out.has_requests && !out.has_errors && out.latency == latency_metric::none)
    return fail(fmt::format("GET {}: none of {}, {}{}{} in the response{}", url,
                            t.metrics.requests_counter, t.metrics.errors_counter,
                            t.metrics.latency.empty() ? "" : ", ", t.metrics.latency,
                            text.malformed > 0 ? " (" + text.first_error + ")" : ""));
  return out;
}

metrics_scraper_actor::behavior_type
metrics_scraper(metrics_scraper_actor::stateful_pointer<metrics_scraper_state> self,
                scrape_target target, performance_monitor_actor monitor) {
  self->state.target = std::move(target);
  self->send(self, tick_atom::value);
  return {
      [self, monitor](tick_atom) {
        const auto& t = self->state.target;
        auto result = scrape_once(t);
        result.service = service_id{t.service};
        result.instance = instance_id{t.instance};
        if (!result.error.empty())
          spdlog::debug("{}/{}: metrics scrape failed: {}", t.service, t.instance, result.error);
        self->send(monitor, std::move(result));
        self->delayed_send(self, t.metrics.interval, tick_atom::value);
      },
  };
}

} // namespace switchyard::actors
