// retry_policy.hpp - which failed attempts are worth another, and when.
//
// Retried: connect errors, timeouts, resets, HTTP 408, 409, 429, 5xx and
// 529, and errors the provider marks as transient; never 4xx auth or
// validation errors.  An `x-should-retry: true|false` header overrides the
// status.  The wait honours retry-after-ms and Retry-After (seconds or an
// HTTP date) when they ask for at most max_server_wait_ms, and is otherwise
// exponential backoff with jitter.  Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "http/curl_multi_client.hpp"

namespace coe::net {

// The failure class of an attempt that got a complete non-2xx response.
// "rate_limited" (429), "auth_error" (401, 403), "http_error" otherwise.
std::string http_failure_class(long status);

// Should a failed attempt be tried again?  `failure` is the attempt's class
// (as in ExpertAnswer::status), `head` the response head when one came.
bool should_retry(const std::string &failure, const HttpHead &head, bool provider_says_retryable);

// The wait the server asked for, in milliseconds: retry-after-ms, else
// Retry-After as seconds or as an HTTP date (relative to `now`).
std::optional<double> server_retry_after_ms(
    const HttpHead &head, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The wait before retry number `retry` (0 for the first retry): the
// server's wait when it asked for one of at most max_server_wait_ms, else
// min(initial * 2^retry, max) reduced by up to 25 % at random.
double retry_delay_ms(std::uint32_t retry, double initial_ms, double max_ms, std::optional<double> server_ms,
                      std::mt19937_64 &rng, double max_server_wait_ms = 60000);

}  // namespace coe::net
