#include "coe/internal/breaker_config_json.hpp"

#include "coe/error.hpp"
#include "coe/internal/json_fields.hpp"

namespace coe::internal {

BreakerConfig read_breaker_config(const boost::json::value &v, const std::string &where, BreakerConfig c) {
    if (!v.is_object()) throw Error(where + " must be an object");
    for (const auto &[key, value] : v.as_object()) {
        const std::string field = where + "." + std::string(key);
        if (key == "mode") {
            if (!value.is_string()) throw Error(field + " must be a string");
            const std::string m(value.as_string());
            if (m == "normal") c.mode = BreakerMode::normal;
            else if (m == "disabled") c.mode = BreakerMode::disabled;
            else if (m == "forced_open") c.mode = BreakerMode::forced_open;
            else if (m == "metrics_only") c.mode = BreakerMode::metrics_only;
            else throw Error(field + ": unknown mode '" + m + "' (normal, disabled, forced_open, metrics_only)");
        } else if (key == "window_size") {
            c.window_size = static_cast<std::uint32_t>(bounded_number(value, field, 1, 1e6));
        } else if (key == "minimum_calls") {
            c.minimum_calls = static_cast<std::uint32_t>(bounded_number(value, field, 1, 1e6));
        } else if (key == "failure_rate_threshold") {
            c.failure_rate_threshold = bounded_number(value, field, 0, 1);
        } else if (key == "slow_call_rate_threshold") {
            c.slow_call_rate_threshold = bounded_number(value, field, 0, 1);
        } else if (key == "slow_call_duration_ms") {
            c.slow_call_duration_ms = bounded_number(value, field, 0, 3.6e6);
        } else if (key == "shadow_mismatches_to_open") {
            c.shadow_mismatches_to_open = static_cast<std::uint32_t>(bounded_number(value, field, 0, 1e6));
        } else if (key == "slower_than_reference_calls") {
            c.slower_than_reference_calls = static_cast<std::uint32_t>(bounded_number(value, field, 0, 1e6));
        } else if (key == "slower_factor") {
            c.slower_factor = bounded_number(value, field, 1, 1e6);
        } else if (key == "open_duration_ms") {
            c.open_duration_ms = bounded_number(value, field, 0, 3.6e6);
        } else if (key == "backoff_multiplier") {
            c.backoff_multiplier = bounded_number(value, field, 1, 100);
        } else if (key == "max_open_duration_ms") {
            c.max_open_duration_ms = bounded_number(value, field, 0, 3.6e6);
        } else if (key == "jitter") {
            c.jitter = bounded_number(value, field, 0, 1);
        } else if (key == "half_open_calls") {
            c.half_open_calls = static_cast<std::uint32_t>(bounded_number(value, field, 1, 1e6));
        } else {
            throw Error(field + ": unknown field");
        }
    }
    if (c.minimum_calls > c.window_size)
        throw Error(where + ": minimum_calls " + std::to_string(c.minimum_calls) + " exceeds window_size " +
                    std::to_string(c.window_size) + " (the breaker could never open)");
    return c;
}

}  // namespace coe::internal
