// clock.hpp - the one clock the engine and the consultation measure with.
// Internal to the coe libraries (not installed).
#pragma once

#include <chrono>

namespace coe::internal {

// Monotonic: durations and deadlines, never the time of day.
using Clock = std::chrono::steady_clock;

// Milliseconds from `start` until now, with the clock's full resolution.
inline double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace coe::internal
