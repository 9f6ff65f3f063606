// performance_report.hpp - the engine's measurements as JSON or Prometheus
// text (see Engine::performance_report).
#pragma once

#include <string>
#include <vector>

#include "coe/backend_info.hpp"
#include "resilience/backend_chain.hpp"
#include "telemetry.hpp"

namespace coe::detail {

std::string performance_report_json(const Telemetry::Snapshot &s, const std::vector<BreakerView> &breakers,
                                    const std::vector<BackendInfo> &backends);
std::string performance_report_prometheus(const Telemetry::Snapshot &s, const std::vector<BreakerView> &breakers,
                                          const std::vector<BackendInfo> &backends);

}  // namespace coe::detail
