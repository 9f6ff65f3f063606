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

#include "coe/breaker_config.hpp"

namespace coe {

// An injected fault, for demonstrations and chaos tests:
// "<backend>:<kind>:<rate>[:<ms>]", kind one of error, nan, subtle, slow,
// unwritten.
//   error      the operation returns an error status
//   nan        the operation's floating-point output holds NaN
//   subtle     plausible but wrong numbers (caught only by shadow checks)
//   slow       the operation sleeps <ms> (default 50) before returning
//   unwritten  part of the output is left as the engine handed it over
//              (docs/resilience.md#fault-injection)
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
    BreakerConfig breaker;                          // defaults for every breaker
    std::map<std::string, BreakerConfig> breakers;  // per "backend" or "backend:operation"
    // Share of calls also run on scalar and compared, once a (backend,
    // operation) is off probation; `shadow_rates` overrides it per "backend"
    // or "backend:operation" (the more specific entry wins).
    double shadow_rate = 0.01;
    std::map<std::string, double> shadow_rates;
    // Probation: every (backend, operation) starts on it, and starts it again
    // after each transition of its breaker and after a shadow mismatch (a
    // reload builds new chains, so a reloaded or replaced plugin starts on it
    // too).  On probation every call is shadow-checked, and the scalar
    // reference's result served when they differ, until this many calls in
    // a row have matched.  0: no probation, sampling only.
    std::uint32_t shadow_probation_calls = 64;
    // Spot checks: a coe.similarity call whose full scalar reference would
    // take more than this many multiply-adds (n (n + 1) / 2 pairs times the
    // dimension, or times twice a sparse row's mean entries) is checked on
    // shadow_spot_vectors of its vectors instead: the first, the last and
    // the rest drawn at random; the reference computes their similarities
    // and each must match the call's entry for that pair.  The full
    // reference's time, which the speed judgement needs, is then estimated
    // from the spot's by the ratio of pairs.  A mismatch still serves the
    // full reference's result.  0: every check runs the full reference.
    std::uint64_t shadow_spot_multiply_adds = 50'000'000;
    std::uint32_t shadow_spot_vectors = 256;  // at least 2
    std::vector<std::string> chain;           // backend order; empty: by score, scalar last
    std::vector<FaultSpec> faults;
    std::uint64_t seed = 0;  // sampling and jitter; 0: from the clock
};

}  // namespace coe
