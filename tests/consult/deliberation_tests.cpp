// Peer review and synthesis through a real consultation, against the fake
// provider: rankings map back to the right answers, failed and unparseable
// reviews are reported, the chairman's answer streams, and a failed
// chairman falls back to the top-ranked answer, marked degraded.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>

#include "consult_support.hpp"

using namespace coe;
using namespace coe::test;

namespace {

const std::string question = "How should we make our slow API faster?";

std::vector<ExpertConfig> three(FakeProviderServer &server, const std::string &third_review = "longest") {
    return {fake_expert(server, "a", ProviderKind::openai, "reply=cache_a"),
            fake_expert(server, "b", ProviderKind::anthropic, "reply=cache_b"),
            fake_expert(server, "c", ProviderKind::ollama, "reply=rewrite,review=" + third_review)};
}

const ReviewOutcome::Score &score_of(const ReviewOutcome &r, const std::string &expert) {
    for (const auto &s : r.answers)
        if (s.expert == expert) return s;
    FAIL("no score of " << expert);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("review: every reviewer ranks the others' answers, mapped back to the right experts") {
    FakeProviderServer server;
    Circle circle(test_engine(), experts_of(three(server)));
    ConsultOptions o;
    o.review = true;
    std::vector<std::string> events;
    const ConsultationResult r =
        circle.consult(question, o, [&](const ConsultEvent &e) { events.push_back(to_string(e.type)); });
    REQUIRE(r.review);
    REQUIRE(r.review->reviews.size() == 3);
    CHECK(r.review->failed_reviewers.empty());
    // the fake reviewers rank by answer length, longest first: check against the answers themselves
    for (const auto &review : r.review->reviews) {
        CAPTURE(review.reviewer);
        CHECK(review.status == "ok");
        REQUIRE(review.ranking.size() == 2);
        CHECK(std::find(review.ranking.begin(), review.ranking.end(), review.reviewer) == review.ranking.end());
        std::vector<std::pair<std::size_t, std::string>> by_length;
        for (const auto &a : r.answers)
            if (a.expert != review.reviewer) by_length.emplace_back(a.content.size(), a.expert);
        std::sort(by_length.begin(), by_length.end(), [](auto &x, auto &y) { return x.first > y.first; });
        CHECK(review.ranking[0] == by_length[0].second);
        CHECK(review.ranking[1] == by_length[1].second);
    }
    // Borda over those rankings: the longest answer wins every comparison it is part of
    std::string longest;
    std::size_t longest_size = 0;
    for (const auto &a : r.answers)
        if (a.content.size() > longest_size) longest_size = a.content.size(), longest = a.expert;
    CHECK(score_of(*r.review, longest).borda == doctest::Approx(1.0));
    CHECK(score_of(*r.review, longest).borda_rank == 1);
    CHECK(score_of(*r.review, longest).schulze_rank == 1);
    CHECK(score_of(*r.review, longest).times_ranked == 2);
    CHECK(std::count(events.begin(), events.end(), "review_done") == 3);
    CHECK(events.back() == "final");
    CHECK(r.final_answer_from == "review");
    std::string top;
    for (const auto &s : r.review->answers)
        if (s.combined_rank == 1) top = s.expert;
    for (const auto &a : r.answers)
        if (a.expert == top) CHECK(r.final_answer == a.content);
    const std::string json = to_json(r);
    CHECK(json.find("\"review\":{\"answers\":[") != std::string::npos);
    CHECK(json.find("\"final_answer_from\":\"review\"") != std::string::npos);
}

TEST_CASE("an unparseable or failed review is a failed review, never a guess; the others still count") {
    FakeProviderServer server;
    auto experts = three(server, "none");
    experts.push_back(fake_expert(server, "d", ProviderKind::openai, "reply=cache_c,review=duplicate"));
    Circle circle(test_engine(), experts_of(experts));
    ConsultOptions o;
    o.review = true;
    const ConsultationResult r = circle.consult(question, o);
    REQUIRE(r.review);
    CHECK(r.review->failed_reviewers == std::vector<std::string>{"c", "d"});
    for (const auto &review : r.review->reviews) {
        if (review.reviewer == "c") {
            CHECK(review.status == "unparseable");
            CHECK(review.error == "no RANKING line");
        }
        if (review.reviewer == "d") CHECK(review.error.find("twice") != std::string::npos);
    }
    CHECK(score_of(*r.review, "c").times_ranked == 2);  // ranked by a and b
}

TEST_CASE("synthesis: the chairman's answer streams and becomes the final answer") {
    FakeProviderServer server;
    auto experts = three(server);
    experts.push_back(fake_expert(server, "chair", ProviderKind::openai, "reply=cache_c"));
    Circle circle(test_engine(), experts_of(experts));
    ConsultOptions o;
    o.experts = {"a", "b", "c"};
    o.review = true;
    o.synthesize = "chair";
    std::string streamed;
    const ConsultationResult r = circle.consult(question, o, [&](const ConsultEvent &e) {
        if (e.type == ConsultEvent::Type::synthesis_delta) streamed += e.delta;
    });
    REQUIRE(r.synthesis);
    CHECK(r.synthesis->status == "ok");
    CHECK(r.final_answer_from == "synthesis");
    CHECK(r.final_answer == r.synthesis->content);
    CHECK(streamed == r.synthesis->content);
    CHECK(r.final_answer.find("Redis caching layer") != std::string::npos);
    CHECK_FALSE(r.report->degraded);
    // the chairman saw the answers and the review, anonymised
    bool saw = false;
    for (const auto &req : server.requests())
        if (req.body.find("chair a circle of experts") != std::string::npos) {
            saw = true;
            CHECK(req.body.find("Answer 3:") != std::string::npos);
            CHECK(req.body.find("peer review ranks them") != std::string::npos);
        }
    CHECK(saw);
}

TEST_CASE("a chairman that fails: the final answer is the top-ranked one, and the report says degraded and why") {
    FakeProviderServer server;
    auto experts = three(server);
    ExpertConfig chair = fake_expert(server, "chair", ProviderKind::openai, "status=500");
    chair.max_retries = 0;
    experts.push_back(chair);
    Circle circle(test_engine(), experts_of(experts));
    ConsultOptions o;
    o.experts = {"a", "b", "c"};
    o.synthesize = "chair";
    const ConsultationResult r = circle.consult(question, o);
    REQUIRE(r.synthesis);
    CHECK(r.synthesis->status == "http_error");
    CHECK(r.final_answer_from == "consensus");  // no review: the majority's representative
    CHECK_FALSE(r.final_answer.empty());
    CHECK(r.report->degraded);
    REQUIRE_FALSE(r.report->events.empty());
    CHECK(r.report->events.back().find("synthesis: the chairman chair failed (http_error") == 0);
}

TEST_CASE("the deadline covers the review too: a reviewer still out then is a failed review") {
    FakeProviderServer server;
    auto experts = three(server);
    ExpertConfig slow_reviewer = fake_expert(server, "slow", ProviderKind::openai, "reply=cache_c,stall_first=5000");
    experts.push_back(slow_reviewer);
    Circle circle(test_engine(), experts_of(experts));
    ConsultOptions o;
    o.experts = {"a", "b"};
    o.review = true;
    o.reviewers = {"a", "slow"};
    o.deadline = std::chrono::milliseconds(1500);
    const auto start = std::chrono::steady_clock::now();
    const ConsultationResult r = circle.consult(question, o);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    REQUIRE(r.review);
    CHECK(r.review->failed_reviewers == std::vector<std::string>{"slow"});
    CHECK(r.review->reviews[1].status == "timeout");
    CHECK(score_of(*r.review, "b").times_ranked == 1);  // a's review
}

TEST_CASE("the deadline covers the synthesis too: a chairman still writing then has failed, the consensus answers") {
    FakeProviderServer server;
    auto experts = three(server);
    experts.push_back(fake_expert(server, "chair", ProviderKind::openai, "reply=cache_c,stall_first=8000"));
    Circle circle(test_engine(), experts_of(experts));
    ConsultOptions o;
    o.experts = {"a", "b", "c"};
    o.synthesize = "chair";
    o.deadline = std::chrono::milliseconds(1200);
    const auto start = std::chrono::steady_clock::now();
    const ConsultationResult r = circle.consult(question, o);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= std::chrono::milliseconds(1100));
    CHECK(took < std::chrono::milliseconds(3000));
    REQUIRE(r.synthesis);
    CHECK(r.synthesis->status == "timeout");
    CHECK(r.synthesis->error.find("deadline") != std::string::npos);
    CHECK(r.final_answer_from == "consensus");
    REQUIRE(r.report);
    CHECK(r.report->degraded);
}

TEST_CASE("naming an unknown reviewer or chairman is a caller mistake") {
    FakeProviderServer server;
    Circle circle(test_engine(), experts_of(three(server)));
    ConsultOptions o;
    o.review = true;
    o.reviewers = {"nobody"};
    CHECK_THROWS_WITH_AS(circle.consult(question, o), doctest::Contains("reviewers: no expert named 'nobody'"), Error);
    o.reviewers.clear();
    o.synthesize = "ghost";
    CHECK_THROWS_WITH_AS(circle.consult(question, o), doctest::Contains("synthesize: no expert named 'ghost'"), Error);
}

TEST_CASE("deliberate: answers given, not asked; every configured expert reviews all of them") {
    FakeProviderServer server;
    Circle circle(test_engine(),
                  experts_of({fake_expert(server, "r1", ProviderKind::openai, "reply=short,review=longest"),
                              fake_expert(server, "r2", ProviderKind::ollama, "reply=short,review=shortest")}));
    Panel p;
    p.id = "given-1";
    p.question = "How do we make the API faster?";
    p.responses = {
        {"x", "Cache it.", std::nullopt, std::nullopt, std::nullopt, {}},
        {"y", "Put a Redis cache in front of the hot read endpoints.", std::nullopt, std::nullopt, std::nullopt, {}},
        {"z", "Add an index.", std::nullopt, std::nullopt, std::nullopt, {}}};
    ConsultOptions o;
    o.review = true;
    const ConsultationResult r = circle.deliberate(p, o);
    CHECK(r.id == "given-1");
    CHECK(r.answers.size() == 3);
    CHECK(server.request_count("reply=short,review=longest") == 1);  // a review only: nobody was asked to answer
    REQUIRE(r.review);
    REQUIRE(r.review->reviews.size() == 2);
    CHECK(r.review->reviews[0].ranking == std::vector<std::string>{"y", "z", "x"});
    CHECK(r.review->reviews[1].ranking == std::vector<std::string>{"x", "z", "y"});
    const std::string line = recording_json(r);
    CHECK(line.find("\"reviews\":[{\"reviewer\":\"r1\",\"status\":\"ok\",\"ranking\":[\"y\",\"z\",\"x\"]}") !=
          std::string::npos);
}
