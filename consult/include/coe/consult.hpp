// consult.hpp - ask the circle: every expert at once, answers streamed, the
// consensus recomputed as each answer arrives.
//
//   coe::Engine engine;
//   coe::Circle circle(engine, coe::load_experts_file("experts.json"));
//   coe::ConsultationResult r = circle.consult("How should we cache this API?");
//   if (r.report) std::cout << coe::to_text(*r.report);
//
// A Circle owns one network thread (libcurl multi on a Boost.Asio
// io_context) shared by all its consultations, and per expert a circuit
// breaker, a concurrency cap and a rate limit.  All members may be called
// from any thread.  The engine must outlive the circle.
//
// Errors: consult() throws coe::Error only for a caller mistake (an empty
// question, an unknown expert name in options.experts).  A failing expert
// never throws: its answer says why (status, error), and the others go on.
// API keys never appear in an answer, an event, a report or an error.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "coe/analysis.hpp"
#include "coe/engine.hpp"
#include "coe/experts.hpp"
#include "coe/panel.hpp"
#include "coe/report.hpp"

namespace coe {

// One expert's answer, or why there is none.
struct ExpertAnswer {
    std::string expert, provider, model;
    // "ok", or the failure class: timeout, connect_error, tls_error,
    // network_error, rate_limited, auth_error, http_error, protocol_error,
    // provider_error, too_large, breaker_open, config_error, cancelled.
    std::string status = "ok";
    std::string error;          // what went wrong, with the provider's own message; empty when ok
    std::string content;        // the answer (partial text is dropped when the expert failed)
    std::string finish_reason;  // the provider's word, e.g. "stop", "end_turn", "MAX_TOKENS"
    double weight = 1.0;        // the expert's prior confidence
    long http_status = 0;       // of the last attempt; 0 when none arrived
    std::uint64_t tokens_in = 0, tokens_out = 0;
    double cost = 0;             // from the expert's cost_per_1k_* and the tokens
    double latency_ms = 0;       // first attempt start -> answer complete (retries included)
    double first_token_ms = -1;  // start of the answering attempt -> first text; -1: none
    std::uint32_t attempts = 0, retries = 0;
    std::vector<float> embedding;  // from the circle's embedder, when it has one and it answered
    bool ok() const { return status == "ok"; }
};

struct ConsultOptions {
    std::string id;                    // the panel id; empty: "consultation-N"
    std::string system_prompt;         // for experts without their own; empty: a built-in one
    std::vector<std::string> experts;  // names to ask; empty: every configured expert
    // The answers the consultation needs (ConsultationResult::quorum_met).
    // K > 0: return once K experts answered; the others are cancelled and
    // listed with status "cancelled".  0 (the default): a majority of the
    // experts asked (floor(N/2) + 1), and every expert is waited for (up to
    // the deadline), since each answer adds to the consensus.
    std::uint32_t quorum = 0;
    // The whole consultation's deadline; experts still out then are
    // cancelled with status "timeout".  Zero: none (each request's own
    // deadlines still apply).
    std::chrono::milliseconds deadline{120000};
    // Peer review after the answers: every reviewer ranks the others'
    // answers, anonymised and shuffled (see ReviewOutcome).  `reviewers`:
    // expert names (configured, asked or not); empty: every expert that answered.
    bool review = false;
    std::vector<std::string> reviewers;
    // The chairman: this expert (configured, asked or not) writes the final
    // answer from the answers, the consensus, the dissent and the review.
    // Empty: no synthesis.
    std::string synthesize;
    bool deltas = false;           // emit expert_delta events (text as it streams)
    bool stream_consensus = true;  // emit a consensus event after each new answer
    AnalysisOptions analysis;
};

// The peer review: each reviewer saw the other answers under the labels A,
// B, C... in an order of its own, and ended with "RANKING: C > A > B".
struct ReviewOutcome {
    struct Review {
        std::string reviewer;
        std::string status = "ok";         // ok, unparseable, or the expert's failure class
        std::string error;                 // why it failed
        std::vector<std::string> ranking;  // expert names of the answers, best first (ok only)
    };
    struct Score {  // one per answer, in the panel's order
        std::string expert;
        double borda = 0;  // mean over the reviews that ranked it of (m-1-position)/(m-1)
        std::uint32_t times_ranked = 0;
        std::uint32_t borda_rank = 0, schulze_rank = 0, schulze_wins = 0;  // ranks: 1 = best
        // 0.5 * borda + 0.5 * (n-1-centrality position)/(n-1): peers' view
        // and the consensus' view weigh the same
        double combined = 0;
        std::uint32_t combined_rank = 0;
    };
    std::vector<Review> reviews;
    std::vector<Score> answers;
    std::vector<std::string> failed_reviewers;
};

struct SynthesisOutcome {
    std::string chairman;
    std::string status = "ok";  // or the chairman's failure class
    std::string error;
    std::string content;  // the chairman's answer (ok only)
};

struct ConsultationResult {
    std::string id, question;
    std::vector<ExpertAnswer> answers;  // one per expert asked, in configuration order
    // The analysis of the answers that are ok, in configuration order:
    // identical to `coe analyze` of panel().  Absent when none answered.
    std::optional<Report> report;
    std::string analysis_error;  // why report is absent
    std::uint32_t answered = 0, quorum = 0;
    bool quorum_met = false;
    std::optional<ReviewOutcome> review;        // when asked for and two answers or more came in
    std::optional<SynthesisOutcome> synthesis;  // when asked for and an answer came in
    // The circle's answer: the chairman's synthesis; else the top answer of
    // the combined ranking when reviewed; else the representative of the
    // majority cluster.  `final_answer_from` says which ("synthesis",
    // "review", "consensus"; "" when there is none).  A synthesis that
    // failed marks the report degraded, with the reason in its events.
    std::string final_answer, final_answer_from;
    // The embedder the answers were compared with (features "embedding"),
    // or why not: then the analysis used TF-IDF and the report is degraded.
    std::string embedder, embedding_error;
    // The question's embedding, asked in the same request as the answers'
    // (recorded for relevance measures; the analysis does not use it yet).
    std::vector<float> question_embedding;
    double elapsed_ms = 0;
    // The ok answers as a panel (expert, content, confidence = weight when
    // below 1, embedding when there is one), the input of `coe analyze`.
    Panel panel() const;
};

struct ConsultEvent {
    enum class Type {
        expert_started,
        expert_delta,
        expert_retry,
        expert_done,
        expert_failed,
        consensus,
        review_done,      // one reviewer's ranking, or why there is none (`review`)
        synthesis_delta,  // the chairman's text as it streams (`delta`, `expert` = the chairman)
        final
    };
    explicit ConsultEvent(Type t) : type(t) {}
    Type type;
    std::string expert;                             // empty for consensus and final
    std::string delta;                              // expert_delta: the new text
    std::uint32_t attempt = 0;                      // expert_started / expert_retry: attempt number (1-based)
    double retry_in_ms = 0;                         // expert_retry: the wait before the next attempt
    const ExpertAnswer *answer = nullptr;           // expert_done, expert_failed, expert_retry (the failed attempt)
    const Report *report = nullptr;                 // consensus (of the answers so far), final
    const ReviewOutcome::Review *review = nullptr;  // review_done
    const ConsultationResult *result = nullptr;     // final
    std::uint32_t answered = 0, total = 0;          // answers so far / experts asked
};
const char *to_string(ConsultEvent::Type type);

// Called on the circle's network thread, in order, one at a time; pointers
// in the event are valid during the call only.  Must not block; an
// exception it throws is ignored.
using ConsultEventHandler = std::function<void(const ConsultEvent &)>;

class Circle {
public:
    // Throws coe::Error if `experts` is empty or a name repeats.
    Circle(const Engine &engine, ExpertsConfig experts);
    ~Circle();  // cancels what is still running, then joins the network thread
    Circle(const Circle &) = delete;
    Circle &operator=(const Circle &) = delete;

    const ExpertsConfig &experts() const;

    // Asks, waits, returns.  Must not be called from the network thread
    // (i.e. from an event handler).
    ConsultationResult consult(const std::string &question, const ConsultOptions &options = {},
                               ConsultEventHandler on_event = {});

    // Deliberates on answers given instead of asked: `panel`'s responses are
    // the answers (their authors need not be experts of this circle).  The
    // stages after the answers run as in consult(): embeddings (for
    // responses without one), the review (default reviewers: every
    // configured expert, none of whom wrote an answer) and the synthesis.
    // For re-running deliberation on recorded or labelled panels.
    // options.experts and quorum do not apply.
    ConsultationResult deliberate(const Panel &panel, ConsultOptions options = {}, ConsultEventHandler on_event = {});

    // Asks without waiting.  The completion handler receives
    // (std::exception_ptr, ConsultationResult) on its associated executor
    // (default: the network thread).  Emitting the handler's cancellation
    // slot cancels every request still out: the result then lists those
    // experts with status "cancelled" and keeps every answer already in.
    template <class CompletionToken>
    auto async_consult(std::string question, ConsultOptions options, ConsultEventHandler on_event,
                       CompletionToken &&token) {
        auto initiation = [this](auto handler, std::string q, ConsultOptions o, ConsultEventHandler ev) {
            auto slot = boost::asio::get_associated_cancellation_slot(handler);
            auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, executor()));
            // handlers may be move-only; Done is copyable
            auto pending =
                std::make_shared<std::pair<decltype(handler), decltype(work)>>(std::move(handler), std::move(work));
            auto done = [pending, ex = executor()](std::exception_ptr e, ConsultationResult r) {
                auto hex = boost::asio::get_associated_executor(pending->first, ex);
                boost::asio::dispatch(hex, [pending, e, r = std::move(r)]() mutable {
                    std::move(pending->first)(e, std::move(r));
                    pending->second.reset();
                });
            };
            auto cancel = start(std::move(q), std::move(o), std::move(ev), std::move(done));
            if (slot.is_connected()) slot.assign([cancel](boost::asio::cancellation_type) { cancel(); });
        };
        return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, ConsultationResult)>(
            std::move(initiation), token, std::move(question), std::move(options), std::move(on_event));
    }

    // The network thread's executor.
    boost::asio::any_io_executor executor() const;

    // Per expert since the circle was built: requests, successes, failures
    // by class, retries, latency p50/p95/p99, time to first token, tokens
    // in/out, cost, breaker state and transitions; one JSON object.
    std::string performance_report() const;
    // The same in the Prometheus text format.
    std::string performance_report_prometheus() const;

    class Impl;

private:
    using Done = std::function<void(std::exception_ptr, ConsultationResult)>;
    // Starts a consultation; returns a thread-safe function that cancels it.
    // `given`: answers to deliberate on instead of asking (deliberate()).
    std::function<void()> start(std::string question, ConsultOptions options, ConsultEventHandler on_event, Done done,
                                const Panel *given = nullptr);

    std::unique_ptr<Impl> impl_;
};

// JSON for programs (one line, no trailing newline): the analysis report's
// fields (as coe/report_format.hpp's to_json) plus "answers": [{expert,
// provider, model, status, content, finish_reason, latency_ms,
// first_token_ms, tokens_in, tokens_out, cost, attempts, retries,
// http_status, error}], "consultation": {asked, answered, quorum,
// quorum_met, elapsed_ms}, "final_answer" and "final_answer_from",
// "review": {answers: [{expert, borda, borda_rank, schulze_rank,
// schulze_wins, times_ranked, combined, combined_rank}], reviews:
// [{reviewer, status, ranking, error?}], failed_reviewers} and "synthesis":
// {chairman, status, content | error} when they ran, and "analysis_error"
// when there is no report (then id and question stand in for the report's
// fields).
std::string to_json(const ConsultationResult &result);
// A consultation event as one JSON line: {"type": ..., ...}.
std::string to_json(const ConsultEvent &event);
// What replaying a deliberation offline needs, as one JSON line: {"id",
// "question", "embedder", "question_embedding"?, "responses": [{expert,
// content, embedding?}],
// "reviews": [{reviewer, status, ranking}]} (bench/deliberation_accuracy).
std::string recording_json(const ConsultationResult &result);

// The answers as a panel JSON document (one line), with per-response
// metadata (provider, model, latency_ms, tokens_in, tokens_out) that
// `coe analyze` ignores.
std::string panel_json(const ConsultationResult &result);
// Text for people: each answer (or its failure), then the report.
std::string to_text(const ConsultationResult &result);

}  // namespace coe
