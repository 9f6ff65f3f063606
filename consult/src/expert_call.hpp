// expert_call.hpp - asking one expert once, with everything that can go
// wrong handled: admission (concurrency cap, rate limit), the expert's
// breaker, request deadlines, retries with backoff, and cancellation.
//
// Threading: the circle's network thread only.  Lifetime: shared; the
// transfer and timers hold it alive until it finishes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coe/consult.hpp"
#include "expert_telemetry.hpp"
#include "http/admission.hpp"
#include "http/retry_policy.hpp"
#include "http/curl_multi_client.hpp"
#include "providers/provider.hpp"
#include "coe/internal/circuit_breaker.hpp"

namespace coe::consult_detail {

// What the circle keeps per configured expert, across consultations.
struct ExpertRuntime {
    ExpertRuntime(boost::asio::io_context &io, ExpertConfig c, const BreakerConfig &breaker_config, std::uint64_t seed)
        : config(std::move(c)),
          breaker(breaker_config, seed),
          admission(io, config.max_concurrent, config.requests_per_minute),
          provider(net::provider_for(config.provider)) {}
    ExpertConfig config;
    CircuitBreaker breaker;
    net::Admission admission;
    const net::Provider &provider;
};

struct ExpertCallHooks {
    std::function<void(std::uint32_t attempt)> on_started;
    std::function<void(std::string_view delta)> on_delta;
    std::function<void(const ExpertAnswer &failed, std::uint32_t next_attempt, double delay_ms)> on_retry;
    std::function<void(ExpertAnswer)> on_done;  // exactly once
};

class ExpertCall : public std::enable_shared_from_this<ExpertCall> {
public:
    ExpertCall(boost::asio::io_context &io, net::CurlMultiClient &client, ExpertRuntime &expert,
               ExpertTelemetry &telemetry, net::ChatPrompt prompt, Clock::time_point deadline, std::uint64_t seed,
               ExpertCallHooks hooks);
    void start();
    // Ends the call now with `status` and `message` (no-op once finished).
    void cancel(const std::string &status, const std::string &message);
    bool finished() const { return finished_; }

private:
    void admitted();
    void attempt();
    void attempt_done(net::HttpResult result);
    // Runs a decoder step inside a curl callback: false (with the reason)
    // stops the transfer when the decoder rejects the response.
    bool decode_step(std::string &reason, const std::function<void()> &step);
    void failed(std::string status, std::string message, const net::HttpHead &head, bool provider_retryable);
    void finish(ExpertAnswer answer);
    std::string redact(std::string text) const;

    boost::asio::io_context &io_;
    net::CurlMultiClient &client_;
    ExpertRuntime &expert_;
    ExpertTelemetry &telemetry_;
    const net::ChatPrompt prompt_;
    const Clock::time_point deadline_;
    ExpertCallHooks hooks_;
    std::mt19937_64 rng_;
    boost::asio::steady_timer retry_timer_;
    std::string api_key_;

    bool finished_ = false, holding_slot_ = false, holding_permit_ = false;
    net::Admission::Ticket ticket_ = 0;
    net::CurlMultiClient::TransferId transfer_ = 0;
    std::uint32_t attempts_ = 0, retries_ = 0;
    Clock::time_point started_, attempt_started_;
    // the attempt in flight
    std::unique_ptr<net::ResponseDecoder> decoder_;
    net::DecodedAnswer decoded_;
    bool success_status_ = false;
    std::string error_body_;
    std::string abort_kind_;
    bool abort_retryable_ = false;
    double first_token_ms_ = -1;
    long last_status_ = 0;
    std::string last_error_;  // of the last failed attempt, for a breaker_open answer
};

}  // namespace coe::consult_detail
