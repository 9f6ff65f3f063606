// backend_chain.hpp - runs one operation on the best healthy backend, with a
// circuit breaker per (backend, operation), demotion down the chain to the
// scalar floor, result checks, shadow verification against scalar (every
// call on probation, then a sample), injected faults and telemetry.  The
// floor and the shadow reference are always the engine's own built-in scalar
// backend, never a plugin file.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coe/resilience.hpp"
#include "coe/internal/circuit_breaker.hpp"
#include "fault_injector.hpp"
#include "plugins/backend_registry.hpp"
#include "result_checks.hpp"
#include "telemetry/telemetry.hpp"

namespace coe::detail {

using internal::BreakerState;
using internal::BreakerTransition;
using internal::CircuitBreaker;
using internal::Clock;

// What one pipeline call went through, for its report.  clear() keeps the
// capacity, so a trace reused from panel to panel allocates nothing.
struct CallTrace {
    // operation (a COE_OP_* name) -> backend that produced its last result
    std::vector<std::pair<const char *, std::string>> served_by;
    bool degraded = false;            // some result came from below the first choice
    std::vector<std::string> events;  // "avx2 coe.similarity: non_finite: ..."
    std::uint64_t buffer_bytes = 0;   // result buffers the engine used

    void serve(const char *op, const std::string &backend);
    void clear();
};

// The default of BackendChain::run's `spot`: every shadow check runs the
// full reference (similarity_spot_check.hpp has the one for large
// similarity calls).
struct NoSpotCheck {
    bool applies() const { return false; }
    template <class R>
    bool matches(const Backend &, const R &, double &, std::uint64_t) const {
        return true;
    }
};

struct BreakerView {
    std::string backend, operation;
    BreakerState state;
    double slow_threshold_ms;
    std::vector<BreakerTransition> transitions;  // the most recent
    std::uint64_t transition_count;
    std::uint32_t probation_left;  // matching shadow checks still needed to end probation (0: off it)
};

class BackendChain {
public:
    BackendChain(const BackendRegistry &registry, ResilienceOptions options, Telemetry &telemetry);

    // Runs attempt(backend, fault, out) on the chain for `op` until a
    // backend leaves a valid result in `out` (check(out) empty); the attempt
    // calls the operation at revision(op) and rewrites all of `out`, whose
    // storage is reused (as is the shadow reference's, kept per thread).
    // Throws only when the scalar floor fails too, i.e. the caller's input
    // was bad; `out` is then unspecified.  `routed`: the call was routed to
    // the device backend (device_router.hpp), which is then tried before the
    // chain, as its first link, when one was added for `op`; `degraded` is
    // judged against the first link of this call.  `spot`: when
    // spot.applies(), a shadow check runs spot.matches(reference, out,
    // full_ms, seed) (the reference on a part of the input drawn with
    // `seed`, compared with the matching part of `out`; full_ms: the full
    // reference's estimated time) instead of the full reference, which then
    // runs only to replace a result that failed it.
    template <class R, class Attempt, class Check, class Spot = NoSpotCheck>
    void run(const char *op, Attempt &&attempt, Check &&check, R &out, CallTrace *trace, bool routed = false,
             const Spot &spot = Spot{});

    // Makes `device` the first link of `op`'s calls that are routed to it,
    // with a breaker and shadow checks of its own, as any backend of the
    // chain.  Once per chain, before the first routed call; returns false
    // (and adds nothing) when the device does not provide `op` at the
    // chain's revision, with the reason in `why`.  Thread-safe against
    // concurrent run() and breakers().
    bool add_device(const Backend &device, const std::string &name, const char *op, std::string &why);

    // The revision every backend of `op`'s chain is called with: the newest
    // one the head of the chain provides (so a plugin built for an older
    // revision is still served, and shadow-checked against the same
    // revision of the scalar reference); backends without it are left out.
    std::uint32_t revision(const char *op) const;

    const ResilienceOptions &options() const { return options_; }

    std::vector<BreakerView> breakers() const;
    const std::vector<const Backend *> &chain(const std::string &op) const;

private:
    // What a (backend, operation) learnt from its shadow checks.
    struct ShadowState {
        explicit ShadowState(std::uint32_t probation_calls) : probation(probation_calls) {}
        std::atomic<std::uint32_t> probation;         // matching calls still needed to end probation
        std::atomic<std::uint64_t> breaker_seen{0};   // the breaker's transition count probation knows
        std::atomic<std::uint32_t> slower_streak{0};  // shadowed calls in a row slower than scalar
    };
    struct Link {
        const Backend *backend;
        std::string name;
        CircuitBreaker *breaker;
        bool floor;
        bool own_algorithm;  // COE_OPERATION_OWN_ALGORITHM: never shadow-compared
        ShadowState *shadow;
        double shadow_rate;  // the sampling rate once off probation
    };
    using Time = Clock::time_point;
    static double ms_between(Time a, Time b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
    const std::vector<Link> &links(const std::string &op) const;
    bool sample_shadow(double rate) const;
    // Is this call to be shadow-checked because the link is on probation?
    // A breaker transition since the last call starts probation again.
    bool on_probation(const Link &link) const;
    // After a shadow check that matched: ends probation step by step, and
    // trips the breaker of a backend that keeps being slower than scalar.
    // `judge`: whether this check may count towards "slower than the
    // reference" (a sample or a slow call, not a probation check).
    void judge_speed(const Link &link, const char *op, double ms, double scalar_ms, bool judge, CallTrace *trace);
    void note(CallTrace *trace, const std::string &text) const;

    ResilienceOptions options_;
    Telemetry &telemetry_;
    FaultInjector faults_;
    std::map<std::string, std::vector<Link>> links_;               // by operation
    std::map<std::string, std::vector<const Backend *>> chains_;   // by operation
    std::map<std::string, std::uint32_t, std::less<>> revisions_;  // by operation
    std::map<std::pair<std::string, std::string>, std::unique_ptr<CircuitBreaker>> breakers_;
    std::map<std::pair<std::string, std::string>, std::unique_ptr<ShadowState>> shadow_states_;
    std::shared_ptr<Backend> floor_;  // the built-in scalar backend: floor and shadow reference
    // The device link of routed calls (add_device): written once, then
    // published through device_link_.
    std::string device_op_;
    std::unique_ptr<CircuitBreaker> device_breaker_;
    std::unique_ptr<ShadowState> device_shadow_;
    std::unique_ptr<Link> device_storage_;
    std::atomic<const Link *> device_link_{nullptr};
    std::uint64_t seed_;
    mutable std::atomic<std::uint64_t> draws_{0};
};

template <class R, class Attempt, class Check, class Spot>
void BackendChain::run(const char *op, Attempt &&attempt, Check &&check, R &out, CallTrace *trace, bool routed,
                       const Spot &spot) {
    const auto &chain = links(op);
    // a routed call tries the device first, then the chain as it is
    const Link *device = routed ? device_link_.load(std::memory_order_acquire) : nullptr;
    if (device != nullptr && device_op_ != op) device = nullptr;
    const std::size_t first = device != nullptr ? 0 : 1;  // index of this call's first link
    auto link_at = [&](std::size_t i) -> const Link & { return i == 0 ? *device : chain[i - 1]; };
    // Failures are committed only once the input is known to be good (some
    // later backend, at the latest the floor, accepted it); until then each
    // failed backend's breaker permit is held, and released if the input was
    // at fault.
    std::vector<std::pair<const Link *, std::string>> pending;
    auto commit = [&] {
        for (const auto &[link, why] : pending) {
            link->breaker->record_failure(failure_class(why), Clock::now());
            telemetry_.record_failure(link->name, op, failure_class(why));
            note(trace, link->name + " " + op + ": " + why);
        }
        pending.clear();
    };
    auto release = [&] {
        for (const auto &entry : pending) entry.first->breaker->release();
        pending.clear();
    };
    for (std::size_t i = first; i <= chain.size(); ++i) {
        const Link &link = link_at(i);
        if (!link.breaker->try_acquire(Clock::now())) {
            if (i == first) note(trace, link.name + " " + op + ": breaker " + to_string(link.breaker->state()));
            continue;
        }
        const FaultDecision fault = link.floor ? FaultDecision{} : faults_.decide(link.name);
        const Time t0 = Clock::now();
        try {
            attempt(*link.backend, fault, out);
        } catch (const BackendCallError &e) {
            if (link.floor) {
                // the reference refuses it too: the caller's input is at fault
                (e.status() == COE_ERR_INVALID_ARGUMENT) ? release() : commit();
                throw;
            }
            pending.emplace_back(&link, std::string("error_status: ") + e.what());
            continue;
        } catch (...) {
            release();
            if (!link.floor) link.breaker->release();
            throw;
        }
        const double elapsed = ms_between(t0, Clock::now());
        if (std::string why = check(out); !why.empty()) {
            if (link.floor) {
                commit();
                throw Error(std::string("the scalar reference produced an invalid ") + op + ": " + why);
            }
            pending.emplace_back(&link, why);
            continue;
        }
        commit();
        thread_local R reference;  // the shadow check's result, its storage reused
        const std::string *served_name = &link.name;
        bool mismatch = false, checked = false;
        double scalar_ms = 0;
        const double slow_limit = link.breaker->slow_threshold_ms();
        const bool slow = slow_limit > 0 && elapsed > slow_limit;
        // Checked: a sample, every call on probation, and every slow call
        // (is it slow, or is the input big?  scalar's time tells).  Speed is
        // judged on samples and slow calls only: a check made because of
        // probation alone times every call, and under a passing load a few
        // in a row would demote a sound backend (reports would then depend
        // on the machine's load).
        const bool eligible = !link.floor && !link.own_algorithm;
        const bool probation = eligible && on_probation(link);
        const bool sampled = eligible && !probation && !slow && sample_shadow(link.shadow_rate);
        if (eligible && (probation || slow || sampled)) {
            const Time s0 = Clock::now();
            try {
                if (spot.applies()) {
                    const std::uint64_t draw = draws_.fetch_add(1, std::memory_order_relaxed) + 1;
                    mismatch = !spot.matches(*floor_, out, scalar_ms, seed_ ^ (0x9e3779b97f4a7c15ull * draw));
                } else {
                    attempt(*floor_, FaultDecision{}, reference);
                    scalar_ms = ms_between(s0, Clock::now());
                    mismatch = !same_result(out, reference);
                }
                telemetry_.record_shadow(link.name, op, elapsed, scalar_ms, spot.applies());
                checked = true;
            } catch (const Error &) {
                // the check itself failed; keep the valid result unverified
            }
        }
        if (mismatch && spot.applies()) {
            try {
                attempt(*floor_, FaultDecision{}, reference);  // the whole result, to serve instead
            } catch (const Error &e) {
                throw Error(std::string("the scalar reference failed ") + op + " after a spot check: " + e.what());
            }
        }
        if (mismatch) {
            link.shadow->probation.store(options_.shadow_probation_calls, std::memory_order_relaxed);
            link.breaker->record_shadow_mismatch(Clock::now());
            telemetry_.record_failure(link.name, op, "shadow_mismatch");
            note(trace, link.name + " " + op + ": shadow_mismatch: differs from the scalar reference");
            std::swap(out, reference);
            served_name = &chain.back().name;  // the floor is every chain's last link
        } else {
            link.breaker->record_success(elapsed, Clock::now());
            telemetry_.record_success(link.name, op, elapsed, slow);
            if (checked) judge_speed(link, op, elapsed, scalar_ms, slow || sampled, trace);
        }
        telemetry_.record_served(!mismatch && !link.floor);
        if (trace) {
            trace->serve(op, *served_name);
            if (*served_name != link_at(first).name) trace->degraded = true;
        }
        return;
    }
    throw Error(std::string("no backend could run ") + op + " (every breaker refused, the floor included)");
}

}  // namespace coe::detail
