// breaker_config.hpp - how a circuit breaker decides, in the vocabulary of
// resilience4j: the same breaker guards each (backend, operation) of the
// engine and each expert of a consultation.  Plain values; no behaviour.
#pragma once

#include <cstdint>

namespace coe {

enum class BreakerMode {
    normal,        // closed / open / half-open by the rates below
    disabled,      // always permits, records nothing
    forced_open,   // never permits (the backend is skipped)
    metrics_only,  // always permits, records, never opens
};

struct BreakerConfig {
    BreakerMode mode = BreakerMode::normal;
    std::uint32_t window_size = 20;         // count-based sliding window of the last calls
    std::uint32_t minimum_calls = 10;       // calls in the window before rates count
    double failure_rate_threshold = 0.5;    // open when failures / calls >= this
    double slow_call_rate_threshold = 1.0;  // open when slow calls / calls >= this
    // A call is slow above this many milliseconds (an absolute limit; 0:
    // none).  A call of an accelerated backend above it is also run on the
    // scalar reference, to compare their times (see slower_than_reference).
    double slow_call_duration_ms = 100;
    // A shadow mismatch is proof of a wrong result: this many of them (among
    // shadow-checked calls only) open the breaker at once.  0: mismatches
    // count only as failures in the failure rate.
    std::uint32_t shadow_mismatches_to_open = 1;
    // An accelerated backend is slower than the reference when, on this many
    // shadow-checked calls in a row, it took more than slower_factor x the
    // scalar time (and more than 1 ms over it): the breaker then opens.
    // 0: never judged against the reference.
    std::uint32_t slower_than_reference_calls = 3;
    double slower_factor = 1.5;
    double open_duration_ms = 1000;       // first wait before half-open
    double backoff_multiplier = 2;        // each re-open after a failed probe waits longer
    double max_open_duration_ms = 60000;  // cap of the backoff
    double jitter = 0.2;                  // +- fraction of random jitter on each wait
    std::uint32_t half_open_calls = 3;    // probe calls permitted in half-open
};

}  // namespace coe
