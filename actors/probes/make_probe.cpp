#include "actors/probes/exec_probe.hpp"
#include "actors/probes/grpc_probe.hpp"
#include "actors/probes/http_probe.hpp"
#include "actors/probes/probe.hpp"
#include "actors/probes/redis_probe.hpp"
#include "actors/probes/tcp_probe.hpp"

namespace switchyard::actors {

std::unique_ptr<probe> make_probe(const std::string& service,
                                  const config::health_check_settings& check,
                                  const config::instance_settings& instance) {
  switch (check.type) {
  case config::check_type::tcp:
    return std::make_unique<tcp_probe>(instance.host, instance.port, check.timeout,
                                       check.fast_detection);
  case config::check_type::http:
    return std::make_unique<http_probe>(instance.host, instance.port, check.path,
                                        check.expected_status, check.timeout);
  case config::check_type::exec:
    return std::make_unique<exec_probe>(check, instance, service);
  case config::check_type::redis:
    return std::make_unique<redis_probe>(instance.host, instance.port, check.timeout,
                                         check.fast_detection);
  case config::check_type::grpc:
    return std::make_unique<grpc_probe>(instance.host, instance.port, check.grpc_service,
                                        check.timeout, check.interval);
  }
  return nullptr;
}

} // namespace switchyard::actors
