// The pieces of the consultation layer that need no network: the experts
// file, the retry policy, admission control.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "coe/experts.hpp"
#include "http/admission.hpp"
#include "http/retry_policy.hpp"

using namespace coe;

namespace {

std::string error_of(const std::string &json) {
    try {
        parse_experts(json, "experts.json");
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

net::HttpHead head(long status, std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpHead h;
    h.status = status;
    h.headers = std::move(headers);
    return h;
}

}  // namespace

TEST_CASE("an experts file with every provider parses, with defaults for what it leaves out") {
    const ExpertsConfig c = parse_experts(R"({"experts": [
      {"name": "gpt", "provider": "openai", "base_url": "https://api.openai.com/v1/", "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"},
      {"name": "local", "provider": "ollama", "base_url": "http://127.0.0.1:11434", "model": "llama3.2", "stream": false},
      {"name": "claude", "provider": "anthropic", "base_url": "https://api.anthropic.com", "model": "claude-sonnet-4-5",
       "api_key_env": "ANTHROPIC_API_KEY", "anthropic_auth": "bearer", "weight": 0.9, "requests_per_minute": 50},
      {"name": "gemini", "provider": "gemini", "base_url": "https://generativelanguage.googleapis.com", "model": "gemini-2.5-flash",
       "api_key_env": "GEMINI_API_KEY", "cost_per_1k_input": 0.1, "cost_per_1k_output": 0.4, "max_concurrent": 2}],
      "expert_breaker": {"minimum_calls": 5}, "backend": "auto"})",
                                          "experts.json");
    REQUIRE(c.experts.size() == 4);
    CHECK(c.experts[0].base_url == "https://api.openai.com/v1");  // trailing slash dropped
    CHECK(c.experts[0].provider == ProviderKind::openai);
    CHECK(c.experts[0].stream);
    CHECK(!c.experts[1].stream);
    CHECK(c.experts[1].api_key_env.empty());
    CHECK(c.experts[2].anthropic_auth == AnthropicAuth::bearer);
    CHECK(c.experts[2].weight == doctest::Approx(0.9));
    CHECK(c.experts[2].requests_per_minute == doctest::Approx(50));
    CHECK(c.experts[3].max_concurrent == 2);
    CHECK(c.breaker.minimum_calls == 5);
    CHECK(c.breaker.window_size == ExpertsConfig::default_expert_breaker().window_size);
}

TEST_CASE("mistakes in the experts file are named with their place") {
    CHECK(error_of("[]").find("top level") != std::string::npos);
    CHECK(error_of("{}").find("no \"experts\"") != std::string::npos);
    CHECK(
        error_of(
            R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x", "model": "m", "api_key": "sk-1"}]})")
            .find("experts[0].api_key: keys are never read from a file") != std::string::npos);
    CHECK(error_of(R"({"experts": [{"name": "a", "provider": "nope", "base_url": "http://x", "model": "m"}]})")
              .find("experts[0].provider: unknown provider 'nope'") != std::string::npos);
    CHECK(error_of(R"({"experts": [{"name": "a", "provider": "openai", "base_url": "ftp://x", "model": "m"}]})")
              .find("experts[0].base_url: must start with http://") != std::string::npos);
    CHECK(error_of(R"({"experts": [{"provider": "openai", "base_url": "http://x", "model": "m"}]})")
              .find("experts[0].name: missing") != std::string::npos);
    CHECK(error_of(R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x"}]})")
              .find("experts[0].model: missing") != std::string::npos);
    CHECK(
        error_of(
            R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x", "model": "m", "tmeout_ms": 3}]})")
            .find("experts[0].tmeout_ms: unknown field") != std::string::npos);
    CHECK(
        error_of(
            R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x", "model": "m", "timeout_ms": -1}]})")
            .find("experts[0].timeout_ms: -1 is outside") != std::string::npos);
    CHECK(error_of(R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x", "model": "m"},
                                   {"name": "a", "provider": "ollama", "base_url": "http://y", "model": "m"}]})")
              .find("experts[1].name: 'a' is used twice") != std::string::npos);
    CHECK(
        error_of(
            R"({"experts": [{"name": "a", "provider": "openai", "base_url": "http://x", "model": "m", "ca_file": "/nonexistent/ca.pem"}]})")
            .find("experts[0].ca_file: no such file") != std::string::npos);
    CHECK(error_of(R"({"experts": [], "expert": 1})").find("expert: unknown field") != std::string::npos);
    CHECK(error_of("{\"experts\": [}").find("experts.json:1:") != std::string::npos);
}

TEST_CASE("retry policy: what is retried") {
    using net::should_retry;
    for (long s : {408L, 409L, 500L, 502L, 503L, 504L, 529L}) CHECK(should_retry("http_error", head(s), false));
    for (long s : {400L, 404L, 422L}) CHECK(!should_retry("http_error", head(s), false));
    CHECK(should_retry("rate_limited", head(429), false));
    CHECK(!should_retry("auth_error", head(401), false));
    CHECK(!should_retry("auth_error", head(403), false));
    for (const char *f : {"connect_error", "timeout", "network_error"}) CHECK(should_retry(f, head(0), false));
    for (const char *f : {"protocol_error", "too_large", "tls_error", "config_error"})
        CHECK(!should_retry(f, head(0), false));
    CHECK(should_retry("provider_error", head(200), true));
    CHECK(!should_retry("provider_error", head(200), false));
    CHECK(!should_retry("http_error", head(503, {{"x-should-retry", "false"}}), false));
    CHECK(should_retry("http_error", head(400, {{"x-should-retry", "true"}}), false));
    CHECK(net::http_failure_class(429) == "rate_limited");
    CHECK(net::http_failure_class(403) == "auth_error");
    CHECK(net::http_failure_class(500) == "http_error");
}

TEST_CASE("retry policy: the server's wait, else exponential backoff with jitter") {
    using net::server_retry_after_ms;
    CHECK(*server_retry_after_ms(head(429, {{"retry-after", "3"}})) == doctest::Approx(3000));
    CHECK(*server_retry_after_ms(head(429, {{"retry-after-ms", "250.5"}, {"retry-after", "3"}})) ==
          doctest::Approx(250.5));
    const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
    CHECK(*server_retry_after_ms(head(503, {{"retry-after", "Wed, 21 Oct 2015 07:28:05 GMT"}}), now) ==
          doctest::Approx(5000));
    CHECK(*server_retry_after_ms(head(503, {{"retry-after", "Wed, 21 Oct 2015 07:27:00 GMT"}}), now) == 0);
    CHECK(!server_retry_after_ms(head(503, {{"retry-after", "soon"}})));
    CHECK(!server_retry_after_ms(head(503, {{"retry-after", "-1"}})));
    CHECK(!server_retry_after_ms(head(503)));

    std::mt19937_64 rng(1);
    CHECK(net::retry_delay_ms(0, 500, 8000, 1234.0, rng) == 1234.0);  // the server's wait
    for (std::uint32_t n = 0; n < 8; ++n) {
        const double d = net::retry_delay_ms(n, 500, 8000, std::nullopt, rng);
        const double base = std::min(8000.0, 500.0 * (1u << n));
        CHECK(d <= base);
        CHECK(d >= 0.75 * base);
    }
    // a wait beyond the cap is not taken literally: backoff instead
    CHECK(net::retry_delay_ms(0, 500, 8000, 3.6e6, rng) <= 500);
}

TEST_CASE("admission: at most max_concurrent at once, and at most N per minute") {
    boost::asio::io_context io;
    net::Admission cap(io, 2, 0);
    int granted = 0;
    for (int i = 0; i < 3; ++i) cap.enqueue([&] { ++granted; });
    io.poll();
    CHECK(granted == 2);
    CHECK(cap.waiting() == 1);
    cap.release();
    io.restart();
    io.poll();
    CHECK(granted == 3);

    const auto t = cap.enqueue([&] { ++granted; });
    cap.withdraw(t);
    cap.release();
    io.restart();
    io.poll();
    CHECK(granted == 3);  // a withdrawn request is never granted

    net::Admission rate(io, 100, 2);
    int started = 0;
    for (int i = 0; i < 3; ++i) rate.enqueue([&] { ++started; });
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    CHECK(started == 2);  // the third waits for the minute window
    CHECK(rate.waiting() == 1);
}
