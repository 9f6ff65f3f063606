// The consultation against real sockets: every provider's wire format,
// every fault the fake server can play, quorum, deadline, cancellation,
// breakers, and streaming consensus.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <future>
#include <thread>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "coe/panel_json.hpp"
#include "consult_support.hpp"

using namespace coe;
using namespace coe::test;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

const ExpertAnswer &answer_of(const ConsultationResult &r, const std::string &name) {
    for (const auto &a : r.answers)
        if (a.expert == name) return a;
    FAIL("no answer of " << name);
    throw std::logic_error("unreachable");
}

ConsultationResult ask(FakeProviderServer &server, std::vector<ExpertConfig> experts, ConsultOptions options = {},
                       const std::string &question = "How should we make our slow API faster?") {
    (void)server;
    Circle circle(test_engine(), experts_of(std::move(experts)));
    return circle.consult(question, options);
}

const ProviderKind all_providers[] = {ProviderKind::openai, ProviderKind::ollama, ProviderKind::anthropic,
                                      ProviderKind::gemini};

}  // namespace

TEST_CASE("every provider answers, streaming and not, with tokens, cost and a consensus") {
    FakeProviderServer server;
    for (bool stream : {true, false}) {
        std::vector<ExpertConfig> experts;
        for (ProviderKind p : all_providers) {
            ExpertConfig e = fake_expert(server, std::string(to_string(p)) + (stream ? "-s" : "-n"), p);
            e.stream = stream;
            e.cost_per_1k_input = 1.0;
            e.cost_per_1k_output = 2.0;
            experts.push_back(e);
        }
        const ConsultationResult r = ask(server, experts);
        CAPTURE(stream);
        REQUIRE(r.answers.size() == 4);
        for (const ExpertAnswer &a : r.answers) {
            CAPTURE(a.expert);
            CHECK(a.status == "ok");
            CHECK(a.error.empty());
            CHECK(a.content.find("cach") != std::string::npos);
            CHECK(a.tokens_in > 0);
            CHECK(a.tokens_out > 0);
            CHECK(a.cost == doctest::Approx(static_cast<double>(a.tokens_in) / 1000.0 +
                                            2.0 * static_cast<double>(a.tokens_out) / 1000.0));
            CHECK(a.attempts == 1);
            CHECK(a.retries == 0);
            CHECK(a.http_status == 200);
            if (stream) CHECK(a.first_token_ms >= 0);
        }
        // the same canned answer from four wire formats: one text, unanimous
        CHECK(r.answers[0].content == r.answers[1].content);
        CHECK(r.answers[0].content == r.answers[3].content);
        REQUIRE(r.report);
        CHECK(r.report->consensus.level == ConsensusLevel::unanimous);
        CHECK(r.quorum_met);
        CHECK(r.answered == 4);
    }
}

TEST_CASE("the final report equals `coe analyze` of the saved answers, and events come in order") {
    FakeProviderServer server;
    std::vector<ExpertConfig> experts = {
        fake_expert(server, "a", ProviderKind::openai, "reply=cache_a,delay=5"),
        fake_expert(server, "b", ProviderKind::anthropic, "reply=cache_b,delay=5"),
        fake_expert(server, "c", ProviderKind::ollama, "reply=cache_c"),
        fake_expert(server, "d", ProviderKind::gemini, "reply=rewrite"),
    };
    experts[1].weight = 0.8;
    Circle circle(test_engine(), experts_of(experts));
    std::vector<std::string> types;
    std::vector<std::size_t> consensus_sizes;
    std::string final_json;
    ConsultOptions options;
    options.deltas = true;
    const ConsultationResult r =
        circle.consult("How should we make our slow API faster?", options, [&](const ConsultEvent &e) {
            types.push_back(to_string(e.type));
            if (e.type == ConsultEvent::Type::consensus) consensus_sizes.push_back(e.report->experts.size());
            if (e.type == ConsultEvent::Type::final) final_json = to_json(e);
        });
    REQUIRE(r.report);
    // started x4 first, a consensus after each answer (1, 2, 3, 4 answers), final last
    REQUIRE(types.size() >= 4 + 4 + 4 + 1);
    for (int i = 0; i < 4; ++i) CHECK(types[i] == "expert_started");
    CHECK(types.back() == "final");
    CHECK(std::count(types.begin(), types.end(), "expert_done") == 4);
    CHECK(std::count(types.begin(), types.end(), "expert_delta") >= 4);
    CHECK(consensus_sizes.size() == 4);
    for (std::size_t i = 0; i < consensus_sizes.size(); ++i) CHECK(consensus_sizes[i] == i + 1);
    CHECK(final_json.find("\"type\":\"final\"") != std::string::npos);

    // the saved answers are a panel; analysing it gives the same report
    const Panel panel = parse_panel(panel_json(r), "saved.json");
    CHECK(panel.responses.size() == 4);
    CHECK(panel.responses[1].confidence == doctest::Approx(0.8));
    const Report again = test_engine().analyze(panel.view());
    CHECK(without_timing(to_json(again)) == without_timing(to_json(*r.report)));
    CHECK(r.report->dissent.size() >= 1);  // "rewrite" stands apart
}

TEST_CASE("429 with Retry-After is retried after the wait the server asked for") {
    FakeProviderServer server;
    const std::string model = "status=429,fail=1,retry_after=1";
    ExpertConfig e = fake_expert(server, "limited", ProviderKind::openai, model);
    const auto t0 = Clock::now();
    const ConsultationResult r = ask(server, {e});
    const ExpertAnswer &a = r.answers[0];
    CHECK(a.status == "ok");
    CHECK(a.retries == 1);
    CHECK(a.attempts == 2);
    CHECK(ms_since(t0) >= 950);  // Retry-After: 1 s, not the 20 ms backoff
    CHECK(server.request_count(model) == 2);
}

TEST_CASE("retry-after-ms and an HTTP-date Retry-After are honoured") {
    FakeProviderServer server;
    ExpertConfig ms = fake_expert(server, "ms", ProviderKind::anthropic, "status=529,fail=1,retry_after_ms=400");
    ExpertConfig date = fake_expert(server, "date", ProviderKind::gemini, "status=503,fail=1,retry_after_date");
    const auto t0 = Clock::now();
    const ConsultationResult r = ask(server, {ms, date});
    CHECK(answer_of(r, "ms").status == "ok");
    CHECK(answer_of(r, "ms").retries == 1);
    CHECK(answer_of(r, "date").status == "ok");
    CHECK(answer_of(r, "date").retries == 1);
    CHECK(ms_since(t0) >= 900);  // the date is 2 s ahead at second resolution
}

TEST_CASE("5xx are retried with backoff until they pass; auth and validation errors are not retried") {
    FakeProviderServer server;
    const std::string flaky = "status=503,fail=2", denied = "status=401", invalid = "status=400",
                      veto = "status=500,should_retry=false";
    const ConsultationResult r = ask(server, {fake_expert(server, "flaky", ProviderKind::ollama, flaky),
                                              fake_expert(server, "denied", ProviderKind::openai, denied),
                                              fake_expert(server, "invalid", ProviderKind::anthropic, invalid),
                                              fake_expert(server, "veto", ProviderKind::openai, veto)});
    CHECK(answer_of(r, "flaky").status == "ok");
    CHECK(answer_of(r, "flaky").retries == 2);
    CHECK(server.request_count(flaky) == 3);
    const ExpertAnswer &d = answer_of(r, "denied");
    CHECK(d.status == "auth_error");
    CHECK(d.http_status == 401);
    CHECK(d.error.find("HTTP 401") != std::string::npos);
    CHECK(server.request_count(denied) == 1);
    CHECK(answer_of(r, "invalid").status == "http_error");
    CHECK(server.request_count(invalid) == 1);
    CHECK(answer_of(r, "veto").status == "http_error");
    CHECK(server.request_count(veto) == 1);  // x-should-retry: false wins over 500
    // the failures lose nothing else
    CHECK(r.answered == 1);
    REQUIRE(r.report);
    CHECK(r.report->experts.size() == 1);
    CHECK(!r.quorum_met);
}

TEST_CASE("stalls, resets, malformed and truncated streams fail with the right reason within their deadlines") {
    FakeProviderServer server;
    auto e = [&](const std::string &name, ProviderKind p, const std::string &model) {
        ExpertConfig x = fake_expert(server, name, p, model);
        x.max_retries = 0;
        x.first_byte_timeout_ms = 400;
        x.idle_timeout_ms = 400;
        return x;
    };
    const auto t0 = Clock::now();
    const ConsultationResult r = ask(server, {
                                                 e("stall_first", ProviderKind::openai, "stall_first=20000"),
                                                 e("stall_mid", ProviderKind::anthropic, "stall_mid=20000"),
                                                 e("reset", ProviderKind::openai, "reset_mid"),
                                                 e("malformed", ProviderKind::gemini, "malformed"),
                                                 e("malformed_nd", ProviderKind::ollama, "malformed"),
                                                 e("no_done", ProviderKind::openai, "no_done"),
                                                 e("no_done_anthropic", ProviderKind::anthropic, "no_done"),
                                                 e("gemini_ends", ProviderKind::gemini, "no_done"),
                                                 e("error_event", ProviderKind::anthropic, "error_event"),
                                                 e("error_event_openai", ProviderKind::openai, "error_event"),
                                                 e("html", ProviderKind::openai, "content_type=text/html"),
                                                 e("good", ProviderKind::ollama, "reply=cache_b"),
                                             });
    CHECK(ms_since(t0) < 5000);
    CHECK(answer_of(r, "stall_first").status == "timeout");
    CHECK(answer_of(r, "stall_first").error.find("first-byte") != std::string::npos);
    CHECK(answer_of(r, "stall_mid").status == "timeout");
    CHECK(answer_of(r, "stall_mid").error.find("stalled") != std::string::npos);
    CHECK(answer_of(r, "reset").status == "network_error");
    CHECK(answer_of(r, "malformed").status == "protocol_error");
    CHECK(answer_of(r, "malformed_nd").status == "protocol_error");
    CHECK(answer_of(r, "no_done").status == "protocol_error");
    CHECK(answer_of(r, "no_done_anthropic").status == "protocol_error");
    CHECK(answer_of(r, "gemini_ends").status == "ok");  // Gemini streams simply end
    CHECK(answer_of(r, "error_event").status == "provider_error");
    CHECK(answer_of(r, "error_event").error.find("overloaded") != std::string::npos);
    CHECK(answer_of(r, "error_event_openai").status == "provider_error");
    CHECK(answer_of(r, "html").status == "protocol_error");
    CHECK(answer_of(r, "html").error.find("text/html") != std::string::npos);
    CHECK(answer_of(r, "good").status == "ok");
    for (const auto &a : r.answers)
        if (!a.ok()) CHECK_MESSAGE(a.content.empty(), a.expert << " kept partial text");
    REQUIRE(r.report);
    CHECK(r.report->experts.size() == 2);
}

TEST_CASE("a body split at every byte, CR and CRLF line ends and multi-line data decode the same") {
    FakeProviderServer server;
    std::vector<ExpertConfig> experts;
    for (ProviderKind p : all_providers) {
        for (const std::string model :
             {"reply=cache_a", "reply=cache_a,split=1", "reply=cache_a,crlf", "reply=cache_a,cr,split=3"})
            experts.push_back(fake_expert(server, std::string(to_string(p)) + ":" + model, p, model));
    }
    experts.push_back(fake_expert(server, "multiline", ProviderKind::openai, "reply=cache_a,multiline_data"));
    const ConsultationResult r = ask(server, experts);
    for (const auto &a : r.answers) {
        CAPTURE(a.expert);
        CHECK(a.status == "ok");
        CHECK(a.content == r.answers[0].content);
        CHECK(a.tokens_out == r.answers[0].tokens_out);
    }
}

TEST_CASE("an oversize body is cut off at max_response_bytes") {
    FakeProviderServer server;
    ExpertConfig e = fake_expert(server, "big", ProviderKind::openai, "oversize=3000000");
    e.max_response_bytes = 1 << 20;
    const ConsultationResult r = ask(server, {e});
    CHECK(r.answers[0].status == "too_large");
    CHECK(r.answers[0].content.empty());
}

TEST_CASE("quorum: the consultation returns once K experts answered and lists the rest as cancelled") {
    FakeProviderServer server;
    ConsultOptions options;
    options.quorum = 2;
    const auto t0 = Clock::now();
    const ConsultationResult r = ask(server,
                                     {fake_expert(server, "fast1", ProviderKind::openai, "reply=cache_a"),
                                      fake_expert(server, "fast2", ProviderKind::ollama, "reply=cache_b"),
                                      fake_expert(server, "slow", ProviderKind::anthropic, "stall_first=2500")},
                                     options);
    CHECK(ms_since(t0) < 2000);
    CHECK(r.quorum_met);
    CHECK(r.answered == 2);
    CHECK(answer_of(r, "slow").status == "cancelled");
    CHECK(answer_of(r, "slow").error.find("quorum of 2") != std::string::npos);
}

TEST_CASE("default quorum: a majority of the experts asked, and every expert is still waited for") {
    FakeProviderServer server;
    const ConsultOptions options;  // quorum 0
    const ConsultationResult r =
        ask(server,
            {fake_expert(server, "fast1", ProviderKind::openai, "reply=cache_a"),
             fake_expert(server, "fast2", ProviderKind::ollama, "reply=cache_b"),
             fake_expert(server, "later", ProviderKind::gemini, "reply=cache_c,stall_first=300"),
             fake_expert(server, "down", ProviderKind::anthropic, "status=401")},
            options);
    CHECK(r.quorum == 3);  // floor(4/2) + 1
    CHECK(r.quorum_met);
    CHECK(r.answered == 3);
    CHECK(answer_of(r, "later").status == "ok");  // not cut short once two answered
    CHECK(answer_of(r, "down").status == "auth_error");
}

TEST_CASE("deadline: experts still out are listed as timed out, answers already in are kept") {
    FakeProviderServer server;
    ConsultOptions options;
    options.deadline = std::chrono::milliseconds(600);
    const auto t0 = Clock::now();
    const ConsultationResult r = ask(server,
                                     {fake_expert(server, "quick", ProviderKind::gemini, "reply=index"),
                                      fake_expert(server, "stuck", ProviderKind::openai, "stall_first=2500")},
                                     options);
    const double elapsed = ms_since(t0);
    CHECK(elapsed >= 550);
    CHECK(elapsed < 1800);
    CHECK(answer_of(r, "quick").status == "ok");
    CHECK(answer_of(r, "stuck").status == "timeout");
    CHECK(answer_of(r, "stuck").error.find("deadline") != std::string::npos);
    CHECK(!r.quorum_met);
    REQUIRE(r.report);
}

TEST_CASE("a retry that would pass the deadline is not attempted") {
    FakeProviderServer server;
    ConsultOptions options;
    options.deadline = std::chrono::milliseconds(1500);
    const ConsultationResult r =
        ask(server, {fake_expert(server, "later", ProviderKind::openai, "status=429,retry_after=30")}, options);
    CHECK(r.answers[0].status == "rate_limited");
    CHECK(r.answers[0].error.find("deadline") != std::string::npos);
    CHECK(r.elapsed_ms < 1400);
}

TEST_CASE("cancellation through the completion handler's slot stops every outstanding request") {
    FakeProviderServer server;
    Circle circle(test_engine(), experts_of({fake_expert(server, "answers", ProviderKind::openai, "reply=cache_a"),
                                             fake_expert(server, "hangs1", ProviderKind::ollama, "stall_first=5000"),
                                             fake_expert(server, "hangs2", ProviderKind::gemini, "stall_mid=5000")}));
    boost::asio::cancellation_signal signal;
    std::promise<void> first_answer;
    auto first = first_answer.get_future();
    const auto t0 = Clock::now();
    auto result = circle.async_consult(
        "What now?", {},
        [&first_answer](const ConsultEvent &e) {
            if (e.type == ConsultEvent::Type::expert_done) first_answer.set_value();
        },
        boost::asio::bind_cancellation_slot(signal.slot(), boost::asio::use_future));
    REQUIRE(first.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    boost::asio::post(circle.executor(), [&signal] { signal.emit(boost::asio::cancellation_type::all); });
    const ConsultationResult r = result.get();
    CHECK(ms_since(t0) < 3000);
    CHECK(answer_of(r, "answers").status == "ok");
    CHECK(answer_of(r, "hangs1").status == "cancelled");
    CHECK(answer_of(r, "hangs2").status == "cancelled");
    REQUIRE(r.report);
}

TEST_CASE("a failing expert's breaker opens, skips it, and probes it again later") {
    FakeProviderServer server;
    const std::string model = "status=500,fail=3";  // fails 3 times, then recovers
    ExpertConfig e = fake_expert(server, "sick", ProviderKind::openai, model);
    e.max_retries = 0;
    ExpertsConfig cfg = experts_of({e, fake_expert(server, "healthy", ProviderKind::ollama)});
    cfg.breaker.minimum_calls = 3;
    cfg.breaker.window_size = 5;
    cfg.breaker.open_duration_ms = 300;
    cfg.breaker.jitter = 0;
    Circle circle(test_engine(), cfg);
    for (int i = 0; i < 3; ++i) CHECK(answer_of(circle.consult("q"), "sick").status == "http_error");
    const ConsultationResult skipped = circle.consult("q");
    CHECK(answer_of(skipped, "sick").status == "breaker_open");
    CHECK(answer_of(skipped, "healthy").status == "ok");
    CHECK(server.request_count(model) == 3);  // not asked while open
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    CHECK(answer_of(circle.consult("q"), "sick").status == "ok");  // the probe passes, the breaker closes
    CHECK(server.request_count(model) == 4);
    const std::string report = circle.performance_report();
    CHECK(report.find("\"sick\"") != std::string::npos);
    CHECK(report.find("\"breaker_open\":1") != std::string::npos);
    CHECK(report.find("\"http_error\":3") != std::string::npos);
    CHECK(circle.performance_report_prometheus().find("coe_expert_answers_total{expert=\"sick\",status=\"ok\"} 1") !=
          std::string::npos);
}

TEST_CASE("max_concurrent caps the requests in flight per expert") {
    FakeProviderServer server;
    ExpertConfig e = fake_expert(server, "single", ProviderKind::openai, "reply=short,stall_first=300");
    e.max_concurrent = 1;
    Circle circle(test_engine(), experts_of({e}));
    const auto t0 = Clock::now();
    auto f1 = circle.async_consult("one", {}, {}, boost::asio::use_future);
    auto f2 = circle.async_consult("two", {}, {}, boost::asio::use_future);
    CHECK(f1.get().answers[0].status == "ok");
    CHECK(f2.get().answers[0].status == "ok");
    CHECK(ms_since(t0) >= 590);  // one after the other
}

TEST_CASE("TLS: a self-signed server is refused, and trusted once its CA is configured") {
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("coe-tls-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    REQUIRE(make_self_signed_certificate(dir));
    FakeProviderServer::Options o;
    o.tls = true;
    o.cert_file = dir + "/cert.pem";
    o.key_file = dir + "/key.pem";
    FakeProviderServer server(o);
    REQUIRE(server.base_url().rfind("https://", 0) == 0);
    ExpertConfig untrusted = fake_expert(server, "untrusted", ProviderKind::openai);
    ExpertConfig trusted = fake_expert(server, "trusted", ProviderKind::anthropic);
    trusted.ca_file = o.cert_file;
    const ConsultationResult r = ask(server, {untrusted, trusted});
    CHECK(answer_of(r, "untrusted").status == "tls_error");
    CHECK(server.request_count("reply=cache_a") == 1);  // only the trusted one got through
    CHECK(answer_of(r, "trusted").status == "ok");
    std::filesystem::remove_all(dir);
}

TEST_CASE("API keys go in headers, and never into answers, errors or reports") {
    const std::string key = "sk-test-9f8e7d6c5b4a";
    FakeProviderServer::Options o;
    o.api_key = key;
    FakeProviderServer server(o);
    ::setenv("COE_TEST_KEY", key.c_str(), 1);
    ::setenv("COE_TEST_WRONG_KEY", "sk-wrong-0123456789", 1);
    std::vector<ExpertConfig> experts;
    for (ProviderKind p : all_providers) {
        ExpertConfig e = fake_expert(server, std::string("keyed-") + to_string(p), p, "auth");
        e.api_key_env = "COE_TEST_KEY";
        experts.push_back(e);
    }
    ExpertConfig bearer = fake_expert(server, "bearer", ProviderKind::anthropic, "auth");
    bearer.api_key_env = "COE_TEST_KEY";
    bearer.anthropic_auth = AnthropicAuth::bearer;
    experts.push_back(bearer);
    ExpertConfig wrong = fake_expert(server, "wrong", ProviderKind::openai, "auth");
    wrong.api_key_env = "COE_TEST_WRONG_KEY";
    experts.push_back(wrong);
    ExpertConfig missing = fake_expert(server, "missing", ProviderKind::openai);
    missing.api_key_env = "COE_TEST_KEY_THAT_IS_NOT_SET";
    experts.push_back(missing);

    Circle circle(test_engine(), experts_of(experts));
    std::string events;
    const ConsultationResult r = circle.consult("q", {}, [&](const ConsultEvent &e) { events += to_json(e) + "\n"; });
    for (ProviderKind p : all_providers) CHECK(answer_of(r, std::string("keyed-") + to_string(p)).status == "ok");
    CHECK(answer_of(r, "bearer").status == "ok");
    CHECK(answer_of(r, "wrong").status == "auth_error");
    CHECK(answer_of(r, "missing").status == "config_error");
    CHECK(answer_of(r, "missing").error.find("COE_TEST_KEY_THAT_IS_NOT_SET") != std::string::npos);
    const std::string everything = to_json(r) + to_text(r) + panel_json(r) + events + circle.performance_report() +
                                   circle.performance_report_prometheus();
    CHECK(everything.find(key) == std::string::npos);
    CHECK(everything.find("sk-wrong-0123456789") == std::string::npos);
    for (const RecordedRequest &q : server.requests()) CHECK(q.target.find(key) == std::string::npos);
}
