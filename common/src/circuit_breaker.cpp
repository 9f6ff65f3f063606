#include "coe/internal/circuit_breaker.hpp"

#include <algorithm>

namespace coe::internal {
namespace {

constexpr std::size_t max_transitions = 256;  // history kept per breaker

BreakerState initial_state(BreakerMode m) {
    switch (m) {
    case BreakerMode::disabled: return BreakerState::disabled;
    case BreakerMode::forced_open: return BreakerState::forced_open;
    case BreakerMode::metrics_only: return BreakerState::metrics_only;
    case BreakerMode::normal: break;
    }
    return BreakerState::closed;
}

Clock::duration ms(double v) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(v));
}

}  // namespace

const char *to_string(BreakerState s) {
    switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
    case BreakerState::disabled: return "disabled";
    case BreakerState::forced_open: return "forced_open";
    case BreakerState::metrics_only: return "metrics_only";
    }
    return "unknown";
}

CircuitBreaker::CircuitBreaker(BreakerConfig config, std::uint64_t seed)
    : config_(config),
      state_(initial_state(config.mode)),
      window_(std::max<std::uint32_t>(config.window_size, 1)),
      next_open_ms_(config.open_duration_ms),
      rng_(seed) {}

void CircuitBreaker::clear_window() { window_next_ = window_count_ = window_failures_ = window_slows_ = 0; }

bool CircuitBreaker::try_acquire(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    switch (state_) {
    case BreakerState::forced_open: return false;
    case BreakerState::open:
        if (now < open_until_) return false;
        transition(BreakerState::half_open, "open duration elapsed", now);
        probes_started_ = probes_succeeded_ = 0;
        [[fallthrough]];
    case BreakerState::half_open:
        if (probes_started_ >= std::max<std::uint32_t>(1, config_.half_open_calls)) return false;
        ++probes_started_;
        return true;
    default: return true;
    }
}

void CircuitBreaker::record_success(double duration_ms, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    const double limit = config_.slow_call_duration_ms;
    const bool slow = limit > 0 && duration_ms > limit;
    record(false, slow, slow ? "slow call" : "", now);
}

void CircuitBreaker::record_shadow_mismatch(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool closed_or_probing = state_ == BreakerState::closed || state_ == BreakerState::half_open;
    if (closed_or_probing && config_.shadow_mismatches_to_open > 0 &&
        ++mismatches_ >= config_.shadow_mismatches_to_open && state_ == BreakerState::closed) {
        ++recorded_calls_;
        open("shadow mismatch: differs from the scalar reference", now);
        return;
    }
    record(true, false, "shadow_mismatch", now);  // half-open: a failed probe reopens it
}

void CircuitBreaker::trip(const std::string &reason, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != BreakerState::closed && state_ != BreakerState::half_open) return;
    if (state_ == BreakerState::half_open)
        next_open_ms_ = std::min(config_.max_open_duration_ms, next_open_ms_ * config_.backoff_multiplier);
    open(reason, now);
}

void CircuitBreaker::release() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == BreakerState::half_open && probes_started_ > probes_succeeded_) --probes_started_;
}

void CircuitBreaker::record_failure(const std::string &failure_class, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    record(true, false, failure_class, now);
}

void CircuitBreaker::record(bool failure, bool slow, const std::string &why, Clock::time_point now) {
    if (state_ == BreakerState::disabled || state_ == BreakerState::forced_open) return;
    ++recorded_calls_;
    if (state_ == BreakerState::open) return;  // a call that started before the breaker opened
    if (state_ == BreakerState::half_open) {
        if (failure || slow) {
            next_open_ms_ = std::min(config_.max_open_duration_ms, next_open_ms_ * config_.backoff_multiplier);
            open("half-open probe failed: " + why, now);
        } else if (++probes_succeeded_ >= std::max<std::uint32_t>(1, config_.half_open_calls)) {
            next_open_ms_ = config_.open_duration_ms;
            clear_window();
            mismatches_ = 0;
            transition(BreakerState::closed, "half-open probes succeeded", now);
        }
        return;
    }
    Outcome &slot = window_[window_next_];
    if (window_count_ == window_.size()) {  // the oldest outcome leaves
        window_failures_ -= slot.failed;
        window_slows_ -= slot.slow;
    } else {
        ++window_count_;
    }
    slot = {failure, slow};
    window_failures_ += failure;
    window_slows_ += slow;
    window_next_ = (window_next_ + 1) % window_.size();
    const std::size_t minimum = std::min<std::size_t>(config_.minimum_calls, window_.size());
    if (state_ == BreakerState::metrics_only || window_count_ < minimum) return;
    const auto failures = static_cast<double>(window_failures_), slows = static_cast<double>(window_slows_);
    const double n = static_cast<double>(window_count_);
    if (failures / n >= config_.failure_rate_threshold)
        open("failure rate " + std::to_string(static_cast<int>(100 * failures / n)) + "% (last: " + why + ")", now);
    else if (slows / n >= config_.slow_call_rate_threshold)
        open("slow call rate " + std::to_string(static_cast<int>(100 * slows / n)) + "%", now);
}

void CircuitBreaker::open(const std::string &reason, Clock::time_point now) {
    std::uniform_real_distribution<double> jitter(-config_.jitter, config_.jitter);
    const double wait = std::max(0.0, next_open_ms_ * (1.0 + jitter(rng_)));
    open_until_ = now + ms(wait);
    clear_window();
    transition(BreakerState::open, reason, now);
}

void CircuitBreaker::transition(BreakerState to, const std::string &reason, Clock::time_point now) {
    if (transitions_.size() == max_transitions) transitions_.erase(transitions_.begin());
    transitions_.push_back({now, state_, to, reason, recorded_calls_});
    state_ = to;
    transition_count_.fetch_add(1, std::memory_order_release);
}

BreakerState CircuitBreaker::state() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_;
}

std::uint64_t CircuitBreaker::transition_count() const { return transition_count_.load(std::memory_order_acquire); }

std::vector<BreakerTransition> CircuitBreaker::transitions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return transitions_;
}

}  // namespace coe::internal
