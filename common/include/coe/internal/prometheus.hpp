// prometheus.hpp - what the Prometheus text exposition format asks of the
// libraries' metrics.  Internal to the coe libraries (not installed).
#pragma once

#include <string>
#include <string_view>

namespace coe::internal {

// A label value escaped as the format asks: backslash, double quote and
// line feed become \\, \" and \n.
std::string prometheus_label(std::string_view value);

}  // namespace coe::internal
