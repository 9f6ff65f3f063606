// fake_responses.hpp - what the fake provider server answers to one
// request: a plan of writes, waits and a reset, built from the provider's
// wire format and the model's directives.  No I/O here.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace coe::test {

struct Step {
    enum Kind { write, wait, reset } kind = write;
    std::string bytes;  // write
    long ms = 0;        // wait
};

struct ParsedRequest {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // names lower-cased
};

// The model string of a request (JSON "model", or the Gemini path), "" if none.
std::string model_of(const ParsedRequest &request);

// The whole answer.  `faults` is false once the model's fail=N requests are
// spent; `api_key` is what the "auth" directive requires.
std::vector<Step> plan_response(const ParsedRequest &request, const std::string &model, bool faults,
                                const std::string &api_key);

// fail=N of a model string (0: every request).
long fault_budget(const std::string &model);

}  // namespace coe::test
