// plugin_suite.hpp - the inputs every plugin operation is exercised on:
// compared with the scalar reference by `coe plugin check`, and run once as a
// smoke call by the probe that admits a plugin before it is loaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"

namespace coe::detail {

// The operations of ABI 1 a plugin may provide, named "id/revision", in
// pipeline order (every revision the host speaks, newest first).
const std::vector<std::string> &suite_operations();

// True when `plugin` provides the operation named "id/revision".
bool provides(const Backend &plugin, std::string_view operation);

enum class SuiteMode {
    smoke,    // each call once on real inputs; valid results are enough
    conform,  // results equal the scalar reference (unless the operation
              // declares an algorithm of its own), and bad inputs are refused
};

// Runs `operation` ("id/revision") of `plugin` on the suite.  Returns "" when it
// passed, otherwise what went wrong; errors of the plugin are caught and
// returned, never thrown.  The operation must be provided by `plugin`.
std::string exercise_operation(const Backend &plugin, std::string_view operation, SuiteMode mode);

// What a passed conformance check of `operation` established.
std::string passed_detail(const Backend &plugin, std::string_view operation);

}  // namespace coe::detail
