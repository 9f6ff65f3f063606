// fault_injector.hpp - decides, per call, whether an injected fault strikes
// a backend (see FaultSpec in coe/resilience.hpp).  Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "coe/resilience.hpp"
#include "fault_effects.hpp"

namespace coe::detail {

struct FaultDecision {
    fault::Kind kind = fault::Kind::none;
    double delay_ms = 0;
};

class FaultInjector {
public:
    FaultInjector(std::vector<FaultSpec> faults, std::uint64_t seed);
    // The fault (if any) for this call of `op` on `backend`.
    FaultDecision decide(const std::string &backend) const;
    bool empty() const { return faults_.empty(); }

private:
    std::vector<FaultSpec> faults_;
    std::uint64_t seed_;
    mutable std::atomic<std::uint64_t> counter_{0};
};

// A uniform draw in [0, 1) from a stateless hash of (seed, counter).
double uniform_draw(std::uint64_t seed, std::uint64_t counter);

}  // namespace coe::detail
