// The consultation's own cost, against the loopback fake provider server:
//   consult_round_trip/<provider>/<stream>   one expert, one consultation after
//                                            another: the client's overhead per
//                                            request (server + analysis included)
//   concurrent_streams/<k>                   k experts streaming at once, each
//                                            answer 6 pieces 100 ms apart: if the
//                                            one network thread keeps up, the
//                                            time stays ~600 ms whatever k is
// Run on one machine in one run and compare rows; the server shares the CPU.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include "coe/consult.hpp"
#include "fake_provider_server.hpp"

namespace {

// CPU seconds of the whole process (client, analysis and the in-process server).
double process_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

coe::Engine &engine() {
    static coe::EngineOptions options = [] {
        coe::EngineOptions o;
        o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
        o.use_environment = false;
        o.use_default_locations = false;
        return o;
    }();
    static coe::Engine e(options);
    return e;
}

coe::ExpertConfig expert(const coe::test::FakeProviderServer &s, const std::string &name, coe::ProviderKind p,
                         const std::string &model) {
    coe::ExpertConfig e;
    e.name = name;
    e.provider = p;
    e.base_url = s.base_url() + (p == coe::ProviderKind::openai ? "/v1" : "");
    e.model = model;
    e.max_concurrent = 1024;
    return e;
}

void consult_round_trip(benchmark::State &state) {
    const auto provider = static_cast<coe::ProviderKind>(state.range(0));
    coe::test::FakeProviderServer server;
    coe::ExpertsConfig cfg;
    cfg.experts.push_back(expert(server, "one", provider, "reply=short"));
    cfg.experts[0].stream = state.range(1) != 0;
    coe::Circle circle(engine(), cfg);
    coe::ConsultOptions options;
    options.stream_consensus = false;
    const double cpu0 = process_cpu_s();
    for (auto _ : state) {
        auto r = circle.consult("How fast is one request?", options);
        if (!r.answers[0].ok()) state.SkipWithError(r.answers[0].error.c_str());
    }
    // an upper bound of the client's own CPU per request: the server's is in it too
    state.counters["process_cpu_us_per_request"] =
        benchmark::Counter((process_cpu_s() - cpu0) * 1e6 / static_cast<double>(state.iterations()));
    state.SetLabel(std::string(coe::to_string(provider)) + (cfg.experts[0].stream ? " stream" : " whole"));
}

void concurrent_streams(benchmark::State &state) {
    const int k = static_cast<int>(state.range(0));
    coe::test::FakeProviderServer server;
    coe::ExpertsConfig cfg;
    for (int i = 0; i < k; ++i)
        cfg.experts.push_back(
            expert(server, "e" + std::to_string(i), coe::ProviderKind::openai, "reply=cache_a,delay=100"));
    coe::Circle circle(engine(), cfg);
    coe::ConsultOptions options;
    options.stream_consensus = false;  // measure the transport, not k analyses
    options.deadline = std::chrono::seconds(60);
    std::int64_t ok = 0;
    const double cpu0 = process_cpu_s();
    for (auto _ : state) {
        auto r = circle.consult("Stream it", options);
        ok += r.answered;
    }
    state.counters["process_cpu_ms"] =
        benchmark::Counter((process_cpu_s() - cpu0) * 1e3 / static_cast<double>(state.iterations()));
    state.counters["answers_ok"] = benchmark::Counter(static_cast<double>(ok), benchmark::Counter::kAvgIterations);
}

}  // namespace

BENCHMARK(consult_round_trip)->ArgsProduct({{0, 1, 2, 3}, {0, 1}})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(concurrent_streams)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

BENCHMARK_MAIN();
