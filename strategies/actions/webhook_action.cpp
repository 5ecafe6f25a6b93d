#include "strategies/actions/webhook_action.hpp"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

namespace switchyard::strategies {

namespace {

using clock = std::chrono::steady_clock;

struct curl_easy_deleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct curl_slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  auto n = size * count;
  if (body->size() < 4096) // the start of the answer is enough for the journal
    body->append(data, std::min(n, 4096 - body->size()));
  return n;
}

struct attempt {
  bool network_error = false;
  long status = 0;
  std::string answer;
  std::string error;
};

attempt send(const config::action_settings& s, const std::string& url,
             const std::vector<std::string>& headers, const std::string& body,
             std::chrono::milliseconds budget) {
  attempt a;
  std::unique_ptr<CURL, curl_easy_deleter> curl{curl_easy_init()};
  if (!curl) {
    a.network_error = true;
    a.error = "curl_easy_init failed";
    return a;
  }
  std::unique_ptr<curl_slist, curl_slist_deleter> list;
  for (const auto& h : headers)
    list.reset(curl_slist_append(list.release(), h.c_str()));
  auto* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, s.method.c_str());
  if (s.method != "GET" && s.method != "DELETE") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, budget.count())));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); // runs on a worker thread: no SIGALRM tricks
  curl_easy_setopt(c, CURLOPT_PROXY, "");    // a failover must not depend on an http_proxy
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.answer);
  auto rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    a.network_error = true;
    a.error = curl_easy_strerror(rc);
    return a;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

std::string first_line(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

} // namespace

std::string fill_placeholders(const std::string& text, const action_context& ctx) {
  const std::pair<const char*, std::string> values[] = {
      {"{service}", ctx.service},
      {"{target}", ctx.target},
      {"{target_address}", ctx.target_address},
      {"{old_primary}", ctx.old_primary},
      {"{old_primary_address}", ctx.old_primary_address},
      {"{new_primary}", ctx.new_primary},
      {"{new_primary_address}", ctx.new_primary_address},
      {"{epoch}", std::to_string(ctx.epoch)},
      {"{switchover_id}", std::to_string(ctx.switchover)},
      {"{phase}", ctx.phase},
      {"{step}", ctx.step_name}};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{')
      for (const auto& [key, value] : values)
        if (text.compare(i, std::char_traits<char>::length(key), key) == 0) {
          out += value;
          i += std::char_traits<char>::length(key);
          replaced = true;
          break;
        }
    if (!replaced)
      out += text[i++];
  }
  return out;
}

webhook_action::webhook_action(config::action_settings settings) : settings_(std::move(settings)) {
  static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)initialized;
}

std::string webhook_action::describe() const {
  return fmt::format("webhook {} {}", settings_.method, settings_.url);
}

action_result webhook_action::run(const action_context& ctx) {
  const auto started = clock::now();
  const auto deadline = started + settings_.timeout;
  const auto url = fill_placeholders(settings_.url, ctx);
  const auto body = fill_placeholders(settings_.body, ctx);
  std::vector<std::string> headers;
  for (const auto& [name, value] : settings_.headers)
    headers.push_back(name + ": " + fill_placeholders(value, ctx));
  if (!body.empty() && !settings_.headers.count("Content-Type"))
    headers.emplace_back("Content-Type: application/json");
  auto backoff = settings_.retry_backoff;
  std::string last;
  for (int attempt_no = 0; attempt_no <= settings_.retries; ++attempt_no) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      break;
    auto a = send(settings_, url, headers, body, left);
    bool ok =
        !a.network_error && (settings_.expected_status != 0 ? a.status == settings_.expected_status
                                                            : a.status >= 200 && a.status < 300);
    auto tries = attempt_no == 0 ? std::string{} : fmt::format(" (attempt {})", attempt_no + 1);
    if (ok)
      return finished_action(
          started, deadline, true,
          fmt::format("{} {}: HTTP {}{}", settings_.method, url, a.status, tries));
    last = a.network_error
               ? fmt::format("{} {}: {}{}", settings_.method, url, a.error, tries)
               : fmt::format("{} {}: HTTP {}{}{}", settings_.method, url, a.status, tries,
                             a.answer.empty() ? "" : " | " + first_line(a.answer));
    // A 4xx will not get better by asking again; a 5xx or a network error may.
    if (!a.network_error && a.status < 500)
      break;
    if (attempt_no < settings_.retries) {
      auto sleep = std::min(
          backoff, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
      if (sleep.count() > 0)
        std::this_thread::sleep_for(sleep); // a backoff between real attempts, on the worker
      backoff *= 2;
    }
  }
  if (last.empty())
    last = "no attempt fitted in the timeout";
  return finished_action(started, deadline, false, last);
}

} // namespace switchyard::strategies
