#include "http/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace coe::net {

std::string http_failure_class(long status) {
    if (status == 429) return "rate_limited";
    if (status == 401 || status == 403) return "auth_error";
    return "http_error";
}

bool should_retry(const std::string &failure, const HttpHead &head, bool provider_says_retryable) {
    if (const std::string *h = head.header("x-should-retry")) {
        if (*h == "true") return true;
        if (*h == "false") return false;
    }
    if (failure == "connect_error" || failure == "timeout" || failure == "network_error") return true;
    if (failure == "provider_error") return provider_says_retryable;
    if (failure == "rate_limited") return true;
    if (failure == "http_error") {
        const long s = head.status;
        return s == 408 || s == 409 || s >= 500;
    }
    return false;  // auth_error, protocol_error, too_large, tls_error, ...
}

namespace {

// An IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), the form servers send.
std::optional<std::time_t> parse_http_date(const std::string &text) {
    std::tm tm{};
    const char *end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return ::timegm(&tm);
}

std::optional<double> parse_non_negative(const std::string &text) {
    if (text.empty()) return std::nullopt;
    char *end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(v >= 0) || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace

std::optional<double> server_retry_after_ms(const HttpHead &head, std::chrono::system_clock::time_point now) {
    if (const std::string *h = head.header("retry-after-ms"))
        if (auto v = parse_non_negative(*h)) return *v;
    if (const std::string *h = head.header("retry-after")) {
        if (auto v = parse_non_negative(*h)) return *v * 1000.0;
        if (auto date = parse_http_date(*h)) {
            const double diff =
                std::chrono::duration<double, std::milli>(std::chrono::system_clock::from_time_t(*date) - now).count();
            return std::max(0.0, diff);
        }
    }
    return std::nullopt;
}

double retry_delay_ms(std::uint32_t retry, double initial_ms, double max_ms, std::optional<double> server_ms,
                      std::mt19937_64 &rng, double max_server_wait_ms) {
    if (server_ms && *server_ms <= max_server_wait_ms) return *server_ms;
    const double base = std::min(max_ms, initial_ms * std::pow(2.0, std::min<std::uint32_t>(retry, 30)));
    std::uniform_real_distribution<double> jitter(0.75, 1.0);
    return base * jitter(rng);
}

}  // namespace coe::net
