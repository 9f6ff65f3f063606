// resilience.hpp - circuit breakers, backend chain, shadow checks and fault
// injection: the options, in the vocabulary of resilience4j.
//
// Every (backend, operation) pair has its own breaker.  A call goes to the
// first backend of the chain whose breaker permits it; if the call fails
// (error status, or an output that is invalid, or one that disagrees with
// the scalar reference in a shadow check), the failure is recorded and the
// call is re-run on the next backend, down to the scalar floor (always the
// engine's built-in scalar backend), whose breaker never opens.  The caller
// always gets a valid result, unless its input is invalid: then the floor
// refuses it too, the call throws coe::Error, and no backend is blamed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace coe {

enum class BreakerMode {
    normal,        // closed / open / half-open by the rates below
    disabled,      // always permits, records nothing
    forced_open,   // never permits (the backend is skipped)
    metrics_only,  // always permits, records, never opens
};

struct BreakerConfig {
    BreakerMode mode = BreakerMode::normal;
    std::uint32_t window_size = 20;          // count-based sliding window of the last calls
    std::uint32_t minimum_calls = 10;        // calls in the window before rates count
    double failure_rate_threshold = 0.5;     // open when failures / calls >= this
    double slow_call_rate_threshold = 1.0;   // open when slow calls / calls >= this
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
    double open_duration_ms = 1000;          // first wait before half-open
    double backoff_multiplier = 2;           // each re-open after a failed probe waits longer
    double max_open_duration_ms = 60000;     // cap of the backoff
    double jitter = 0.2;                     // +- fraction of random jitter on each wait
    std::uint32_t half_open_calls = 3;       // probe calls permitted in half-open
};

// An injected fault, for demonstrations and chaos tests:
// "<backend>:<kind>:<rate>[:<ms>]", kind one of error, nan, subtle, slow.
//   error   the operation returns an error status
//   nan     the operation's floating-point output holds NaN
//   subtle  plausible but wrong numbers (caught only by shadow checks)
//   slow    the operation sleeps <ms> (default 50) before returning
// rate is the probability per call, in [0, 1].
struct FaultSpec {
    std::string backend;
    std::string kind;
    double rate = 1.0;
    double delay_ms = 50;
};

// Parses the text form above; throws coe::Error naming the problem.
FaultSpec parse_fault_spec(const std::string &text);

struct ResilienceOptions {
    BreakerConfig breaker;                            // defaults for every breaker
    std::map<std::string, BreakerConfig> breakers;    // per "backend" or "backend:operation"
    double shadow_rate = 0.01;                        // share of calls also run on scalar and compared
    // After a shadow mismatch, every call of that backend and operation is
    // shadow-checked until this many in a row have matched (probation).
    std::uint32_t shadow_probation_calls = 50;
    std::vector<std::string> chain;                   // backend order; empty: by score, scalar last
    std::vector<FaultSpec> faults;
    std::uint64_t seed = 0;                           // sampling and jitter; 0: from the clock
};

}  // namespace coe
