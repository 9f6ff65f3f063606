// circuit_breaker.hpp - one breaker for one (backend, operation).
//
// States: closed (calls flow, outcomes fill a count-based window), open
// (calls are refused until the open duration passes), half-open (a bounded
// number of probe calls decide: all succeed -> closed, one fails -> open
// again with a longer, capped, jittered wait).  Manual modes (disabled,
// forced open, metrics only) override this.  Thread-safe: every member
// takes the breaker's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "coe/breaker_config.hpp"
#include "coe/internal/clock.hpp"

namespace coe::internal {

enum class BreakerState { closed, open, half_open, disabled, forced_open, metrics_only };
const char *to_string(BreakerState s);

struct BreakerTransition {
    Clock::time_point at;
    BreakerState from, to;
    std::string reason;
    std::uint64_t calls;  // outcomes this breaker had recorded before the transition
};

class CircuitBreaker {
public:
    CircuitBreaker(BreakerConfig config, std::uint64_t seed);

    // May a call go through now?  In half-open this reserves a probe slot,
    // which the caller must settle with record_success/record_failure.
    bool try_acquire(Clock::time_point now);
    void record_success(double duration_ms, Clock::time_point now);
    void record_failure(const std::string &failure_class, Clock::time_point now);
    // A shadow mismatch: a failure that, shadow_mismatches_to_open times
    // since the breaker last closed, opens it at once.
    void record_shadow_mismatch(Clock::time_point now);
    // Opens the breaker now (normal mode only), e.g. because the backend
    // proved slower than the reference.
    void trip(const std::string &reason, Clock::time_point now);
    // Gives back a permit that ends in neither success nor failure (the call
    // was abandoned, e.g. because the caller's input was bad).
    void release();

    BreakerState state() const;
    std::vector<BreakerTransition> transitions() const;  // the most recent ones
    std::uint64_t transition_count() const;              // all of them, ever; lock-free
    // The absolute slow-call limit (ms), 0 for none.
    double slow_threshold_ms() const { return config_.slow_call_duration_ms; }
    const BreakerConfig &config() const { return config_; }

private:
    void record(bool failure, bool slow, const std::string &why, Clock::time_point now);
    void transition(BreakerState to, const std::string &reason, Clock::time_point now);
    void open(const std::string &reason, Clock::time_point now);

    const BreakerConfig config_;
    mutable std::mutex mutex_;
    BreakerState state_;
    // The outcomes of the last window_size calls, as a ring sized once (a
    // breaker records every call, and must not allocate to do it), with the
    // failed and slow ones counted.
    struct Outcome {
        bool failed, slow;
    };
    std::vector<Outcome> window_;
    std::size_t window_next_ = 0, window_count_ = 0, window_failures_ = 0, window_slows_ = 0;
    void clear_window();
    std::uint32_t mismatches_ = 0;  // shadow mismatches since the breaker last closed
    Clock::time_point open_until_{};
    double next_open_ms_;
    std::uint32_t probes_started_ = 0, probes_succeeded_ = 0;
    std::vector<BreakerTransition> transitions_;
    std::atomic<std::uint64_t> transition_count_{0};  // written under the mutex, read without it
    std::uint64_t recorded_calls_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace coe::internal
