// The webhook action: one HTTP(S) request (method, URL, headers and body with
// {placeholders} filled from the step), successful on the expected status
// (any 2xx by default). Network errors and 5xx answers are retried with a
// doubling backoff; `timeout` bounds all attempts together.
#pragma once

#include "strategies/action.hpp"

namespace switchyard::strategies {

class webhook_action : public action {
public:
  explicit webhook_action(config::action_settings settings);

  action_result run(const action_context& ctx) override;
  std::string kind() const override { return "webhook"; }
  std::string describe() const override;

private:
  config::action_settings settings_;
};

/// `text` with every {placeholder} of the step's context replaced (see config).
std::string fill_placeholders(const std::string& text, const action_context& ctx);

} // namespace switchyard::strategies
