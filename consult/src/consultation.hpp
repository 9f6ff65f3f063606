// consultation.hpp - one question put to the circle: fan-out to the
// experts, quorum and deadline, and the consensus recomputed after each
// answer.  Threading: the circle's network thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coe/consult.hpp"
#include "deliberation/peer_review.hpp"
#include "embedding/embedding_client.hpp"
#include "expert_call.hpp"

namespace coe::consult_detail {

// What works on the answers once they are in: the embedder (the circle's),
// the reviewers and the chairman (ConsultOptions::review, synthesize).
struct Deliberators {
    EmbeddingClient *embedder = nullptr;     // null: TF-IDF
    std::vector<ExpertRuntime *> reviewers;  // empty: every expert that answered
    ExpertRuntime *chairman = nullptr;       // null: no synthesis
};

// What one consultation is made of: Consultation's constructor takes one.
// The four references are the circle's and outlive the consultation; the
// rest is moved in.  Filled on the network thread, like the consultation.
struct ConsultationParams {
    using Done = std::function<void(std::exception_ptr, ConsultationResult)>;

    ConsultationParams(boost::asio::io_context &network, net::CurlMultiClient &http, const Engine &analysis,
                       ExpertTelemetry &counters)
        : io(network), client(http), engine(analysis), telemetry(counters) {}

    boost::asio::io_context &io;           // the network thread's: every call of the consultation runs there
    net::CurlMultiClient &client;          // carries the requests to the experts
    const Engine &engine;                  // analyses the answers (the consensus)
    ExpertTelemetry &telemetry;            // counts each expert's outcome
    std::vector<ExpertRuntime *> experts;  // asked, in this order (the answers keep it); unused with `given`
    Deliberators deliberators;             // embedder, reviewers, chairman
    std::string question;
    ConsultOptions options;        // quorum, deadline, review, synthesis, the events wanted, the id
    ConsultEventHandler on_event;  // may be empty; runs on the network thread
    Done done;                     // runs once with the result; may also be given later by set_done()
    std::uint64_t seed = 0;        // the calls' jitter and the review's shuffles derive from it
    std::optional<Panel> given;    // answers given, not asked (Circle::deliberate): no expert is called
};

// Stages: the answers (quorum, deadline), then their embeddings when the
// circle has an embedder (a failure falls back to TF-IDF, marked degraded;
// the consensus events while answers arrive stay TF-IDF), then the peer review when asked
// for (every reviewer at once), then the chairman's synthesis when asked
// for, then `final`.  The deadline and cancel() cover every stage: what is
// cut short counts as failed, and the result says so.
class Consultation : public std::enable_shared_from_this<Consultation> {
public:
    using Done = ConsultationParams::Done;
    explicit Consultation(ConsultationParams params);
    void set_done(Done done) { done_ = std::move(done); }
    void start();
    // Cancels every expert still out; the result keeps what arrived.
    void cancel(const std::string &status, const std::string &message);
    bool done() const { return completed_; }

private:
    enum class Stage { answers, review, synthesis, done };

    void expert_finished(std::size_t index, ExpertAnswer answer);
    void complete();  // the answers are in: embed, analyse, then deliberate or finish
    void embed_answers();
    void analyse_and_deliberate();
    void start_review();
    void review_finished(std::size_t index, ExpertAnswer answer);
    void score_review();
    void start_synthesis();
    void synthesis_finished(ExpertAnswer answer);
    void finish();
    void choose_final_answer();
    void close_answers(const std::string &status, const std::string &message);
    std::shared_ptr<ExpertCall> call(ExpertRuntime &expert, net::ChatPrompt prompt, std::uint64_t seed,
                                     ExpertCallHooks hooks);
    std::optional<Report> analyze_answers(std::string &error) const;
    void emit(const ConsultEvent &event);

    boost::asio::io_context &io_;
    net::CurlMultiClient &client_;
    const Engine &engine_;
    std::vector<ExpertRuntime *> experts_;
    Deliberators deliberators_;
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
    Clock::time_point started_, deadline_;
    bool closing_ = false;    // the answers stage is closing (quorum met, or stopped)
    bool stopped_ = false;    // cancel() or the deadline: no further stage starts
    bool completed_ = false;  // final was emitted
    std::string stop_status_, stop_message_;
    Stage stage_ = Stage::answers;
    // the review in flight
    struct PendingReview {
        ExpertRuntime *reviewer;
        std::uint32_t own;  // the reviewer's answer in the panel, or UINT32_MAX
        ReviewSheet sheet;
        bool finished = false;
        std::optional<Ballot> ballot;  // a parsed ranking
    };
    std::vector<PendingReview> reviews_;
    std::size_t reviews_pending_ = 0;
    Panel panel_;                 // the ok answers, as analysed
    std::optional<Panel> given_;  // answers given, not asked (Circle::deliberate)
};

}  // namespace coe::consult_detail
