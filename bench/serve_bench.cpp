// What `coe serve` adds to an analysis, on one MT-Bench panel, one request
// at a time over one keep-alive connection on loopback:
//   analyze/in_process           Engine::analyze of the parsed panel
//   analyze/in_process_json      parse the JSON body + analyze + serialise the
//                                report: the work the route does itself
//   analyze/over_http            POST /v1/analyze to a server in this process
//                                (one server thread), response read whole
// The ratio over_http / in_process_json is the server's overhead (target:
// at most 1.1 at the median).  Compare rows of one run; the server and the
// client share the CPU.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "coe/server.hpp"
#include "../tests/serve/serve_client.hpp"

namespace {

coe::Engine &engine() {
    static coe::Engine e([] {
        coe::EngineOptions o;
        o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
        o.use_environment = false;
        o.use_default_locations = false;
        return o;
    }());
    return e;
}

const std::string &panel_json() {
    static const std::string text = [] {
        std::ifstream in(COE_BENCH_DEFAULT_CORPUS);
        std::string first;
        std::getline(in, first);
        if (first.empty()) throw std::runtime_error("cannot read " COE_BENCH_DEFAULT_CORPUS);
        return first;
    }();
    return text;
}

void in_process(benchmark::State &state) {
    const coe::Panel panel = coe::parse_panel(panel_json(), "bench");
    for (auto _ : state) benchmark::DoNotOptimize(engine().analyze(panel.view()));
}

void in_process_json(benchmark::State &state) {
    for (auto _ : state) {
        const coe::Panel panel = coe::parse_panel(panel_json(), "bench");
        benchmark::DoNotOptimize(coe::to_json(engine().analyze(panel.view())));
    }
}

void over_http(benchmark::State &state) {
    coe::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    coe::Server server(engine(), nullptr, o);
    std::thread t([&] { server.run(); });
    {
        coe::test::HttpClient client(server.port());
        for (auto _ : state) {
            const auto r = client.post("/v1/analyze", panel_json());
            if (r.status != 200) state.SkipWithError(("status " + std::to_string(r.status)).c_str());
        }
    }
    server.stop();
    t.join();
}

}  // namespace

BENCHMARK(in_process)->Name("analyze/in_process")->Unit(benchmark::kMicrosecond)->Repetitions(5);
BENCHMARK(in_process_json)->Name("analyze/in_process_json")->Unit(benchmark::kMicrosecond)->Repetitions(5);
BENCHMARK(over_http)->Name("analyze/over_http")->Unit(benchmark::kMicrosecond)->Repetitions(5)->UseRealTime();
BENCHMARK_MAIN();
