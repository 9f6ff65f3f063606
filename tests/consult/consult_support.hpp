// consult_support.hpp - experts that point at a FakeProviderServer, and an
// engine that sees only the built-in backends.
#pragma once

#include <string>

#include "coe/consult.hpp"
#include "fake_provider_server.hpp"
#include "test_support.hpp"

namespace coe::test {

// An expert of `provider` whose model string tells the fake server how to
// behave (see fake_provider_server.hpp), with deadlines short enough for
// tests and fast retries.
inline ExpertConfig fake_expert(const FakeProviderServer &server, const std::string &name, ProviderKind provider,
                                const std::string &model = "reply=cache_a") {
    ExpertConfig e;
    e.name = name;
    e.provider = provider;
    e.base_url = server.base_url() + (provider == ProviderKind::openai ? "/v1" : "");
    e.model = model;
    e.connect_timeout_ms = 2000;
    e.first_byte_timeout_ms = 3000;
    e.idle_timeout_ms = 3000;
    e.timeout_ms = 10000;
    e.max_retries = 2;
    e.backoff_initial_ms = 20;
    e.backoff_max_ms = 100;
    return e;
}

inline ExpertsConfig experts_of(std::vector<ExpertConfig> list) {
    ExpertsConfig c;
    c.experts = std::move(list);
    return c;
}

inline Engine &test_engine() {
    static Engine engine(isolated_options({backend_plugin_dir()}));
    return engine;
}

// A report as JSON without its timings (which differ run to run).
inline std::string without_timing(std::string json) {
    const auto p = json.find(",\"timing_ms\"");
    if (p == std::string::npos) return json;
    const auto end = json.find('}', p);
    return json.erase(p, end + 1 - p);
}

}  // namespace coe::test
