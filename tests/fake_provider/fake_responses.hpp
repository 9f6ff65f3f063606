// fake_responses.hpp - what the fake provider server answers to one
// request: a plan of writes, waits and a reset, built from the route's wire
// format (wire_formats.hpp) and the model's directives (directives.hpp).
// Pure functions, no I/O, never throw for any input; safe on any thread.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace coe::test {

struct Step {
    enum Kind { write, wait, reset } kind = write;
    std::string bytes;  // write: raw bytes for the socket (HTTP framing included)
    long ms = 0;        // wait
};

struct ParsedRequest {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // names lower-cased
};

// The model string of a request: the JSON "model", or for Gemini the
// percent-decoded path segment; "" when there is none.
std::string model_of(const ParsedRequest &request);

// The whole answer.  `nth` is this request's 1-based number among the
// requests with the same model string (for fail=N); `api_key` is what a
// bare "auth" directive requires.
std::vector<Step> plan_response(const ParsedRequest &request, const std::string &model, std::size_t nth,
                                const std::string &api_key);

// A complete response with a JSON error body (no directives applied), e.g.
// 413 for an oversized request.
std::vector<Step> plain_error(int code, const std::string &message);

}  // namespace coe::test
