// consultation.hpp - one question put to the circle: fan-out to the
// experts, quorum and deadline, and the consensus recomputed after each
// answer.  Threading: the circle's network thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coe/consult.hpp"
#include "expert_call.hpp"

namespace coe::detail {

class Consultation : public std::enable_shared_from_this<Consultation> {
public:
    using Done = std::function<void(std::exception_ptr, ConsultationResult)>;
    Consultation(boost::asio::io_context &io, net::CurlMultiClient &client, const Engine &engine,
                 std::vector<ExpertRuntime *> experts, ExpertTelemetry &telemetry, std::string question,
                 ConsultOptions options, ConsultEventHandler on_event, Done done, std::uint64_t seed);
    void set_done(Done done) { done_ = std::move(done); }
    void start();
    // Cancels every expert still out; the result keeps what arrived.
    void cancel(const std::string &status, const std::string &message);
    bool done() const { return completed_; }

private:
    void expert_finished(std::size_t index, ExpertAnswer answer);
    void complete();
    std::optional<Report> analyze_answers(std::string &error) const;
    void emit(const ConsultEvent &event);

    boost::asio::io_context &io_;
    net::CurlMultiClient &client_;
    const Engine &engine_;
    std::vector<ExpertRuntime *> experts_;
    ExpertTelemetry &telemetry_;
    ConsultationResult result_;
    ConsultOptions options_;
    ConsultEventHandler on_event_;
    Done done_;
    std::uint64_t seed_;
    std::vector<std::shared_ptr<ExpertCall>> calls_;
    std::vector<bool> finished_;
    std::size_t pending_ = 0;
    std::optional<Report> latest_;  // consensus of the answers so far
    boost::asio::steady_timer deadline_timer_;
    Clock::time_point started_;
    bool closing_ = false, completed_ = false;
};

}  // namespace coe::detail
