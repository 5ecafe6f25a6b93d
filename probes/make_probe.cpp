#include "probes/exec_probe.hpp"
#include "probes/grpc_probe.hpp"
#include "probes/probe.hpp"
#include "probes/probe_engine.hpp"

namespace switchyard::actors {

std::unique_ptr<async_probe> make_probe(probe_engine& engine, const std::string& service,
                                        const config::health_check_settings& check,
                                        const config::instance_settings& instance) {
  switch (check.type) {
  case config::check_type::tcp:
    return engine.tcp(instance.host, instance.port, check.timeout, check.fast_detection);
  case config::check_type::http:
    return engine.http(instance.host, instance.port, check.path, check.expected_status,
                       check.timeout);
  case config::check_type::exec:
    return engine.pooled(std::make_unique<exec_probe>(check, instance, service));
  case config::check_type::redis:
    return engine.redis(instance.host, instance.port, check.timeout, check.fast_detection);
  case config::check_type::grpc:
    return engine.pooled(std::make_unique<grpc_probe>(
        instance.host, instance.port, check.grpc_service, check.timeout, check.interval));
  case config::check_type::postgres:
    return engine.postgres(instance.host, instance.port, check.postgres_options, check.timeout,
                           check.fast_detection);
  }
  return nullptr;
}

std::unique_ptr<async_probe> make_probe(const std::string& service,
                                        const config::health_check_settings& check,
                                        const config::instance_settings& instance) {
  return make_probe(probe_engine::process_wide(), service, check, instance);
}

} // namespace switchyard::actors
