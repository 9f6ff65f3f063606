// expert_telemetry.hpp - what each expert did since the circle was built.
// Thread-safe: records come from the network thread, reports from any.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "coe/consult.hpp"
#include "coe/internal/circuit_breaker.hpp"

namespace coe::consult_detail {

using internal::BreakerState;
using internal::CircuitBreaker;
using internal::Clock;

class ExpertTelemetry {
public:
    void record_request(const std::string &expert);
    void record_answer(const ExpertAnswer &answer);

    // `breakers` by expert name, for their state and transitions.
    std::string json(const std::map<std::string, const CircuitBreaker *> &breakers) const;
    std::string prometheus(const std::map<std::string, const CircuitBreaker *> &breakers) const;

private:
    struct Stats {
        std::uint64_t requests = 0, answers = 0, successes = 0, retries = 0, tokens_in = 0, tokens_out = 0;
        std::map<std::string, std::uint64_t> failures;  // by class
        double cost = 0;
        std::vector<double> latency_ms, first_token_ms;  // rings of the last samples
        std::size_t latency_next = 0, first_token_next = 0;
    };
    static constexpr std::size_t samples = 1024;

    mutable std::mutex mutex_;
    std::map<std::string, Stats> experts_;
};

}  // namespace coe::consult_detail
