// Backends side by side on the same workloads, in one run:
//   featurize/<backend>         MB/s over the texts of the MT-Bench panels
//   similarity_sparse/<backend> the 80 MT-Bench panels (31 experts each)
//   similarity_dense/<backend>/<n>/<dim>
//   pipeline/<backend>          coe analyze on the 80 MT-Bench panels, one thread
// Compare rows of one run as ratios; absolute numbers depend on the machine.
// COE_BENCH_CORPUS overrides the corpus path (default: ../shared/data).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>

#include <boost/json.hpp>

#include "coe/engine.hpp"

namespace {

std::vector<std::vector<std::string>> load_panels() {
    const char *env = std::getenv("COE_BENCH_CORPUS");
    const std::string file = env ? env : COE_BENCH_DEFAULT_CORPUS;
    std::ifstream in(file);
    if (!in) {
        std::cerr << "cannot open corpus " << file << " (set COE_BENCH_CORPUS)\n";
        std::exit(1);
    }
    std::vector<std::vector<std::string>> panels;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto doc = boost::json::parse(line);
        std::vector<std::string> texts;
        for (const auto &r : doc.at("responses").as_array()) texts.emplace_back(r.at("content").as_string());
        panels.push_back(std::move(texts));
    }
    return panels;
}

std::unique_ptr<coe::Engine> engine_for(const std::string &backend) {
    coe::EngineOptions o;
    o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    o.use_environment = false;
    o.backend = backend;
    return std::make_unique<coe::Engine>(o);
}

void register_backend(const std::string &name, const std::vector<std::vector<std::string>> &panels) {
    std::shared_ptr<coe::Engine> engine = engine_for(name);
    auto views = std::make_shared<std::vector<std::vector<std::string_view>>>();
    std::int64_t bytes = 0;
    for (const auto &p : panels) {
        views->emplace_back(p.begin(), p.end());
        for (const auto &t : p) bytes += static_cast<std::int64_t>(t.size());
    }

    benchmark::RegisterBenchmark(("featurize/" + name).c_str(), [engine, views, bytes](benchmark::State &st) {
        for (auto _ : st)
            for (const auto &v : *views) benchmark::DoNotOptimize(engine->featurize(v));
        st.SetBytesProcessed(st.iterations() * bytes);
    })->Unit(benchmark::kMillisecond);

    auto features = std::make_shared<std::vector<coe::SparseRows>>();
    for (const auto &v : *views) features->push_back(engine->featurize(v));
    benchmark::RegisterBenchmark(("similarity_sparse/" + name).c_str(), [engine, features](benchmark::State &st) {
        for (auto _ : st)
            for (const auto &f : *features) benchmark::DoNotOptimize(engine->similarity(f));
        st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(features->size()));
    })->Unit(benchmark::kMillisecond);

    // the whole pipeline, one thread, on every MT-Bench panel
    auto parsed = std::make_shared<std::vector<coe::Panel>>();
    for (const auto &texts : panels) {
        coe::Panel p;
        for (std::size_t i = 0; i < texts.size(); ++i)
            p.responses.push_back({"expert-" + std::to_string(i), texts[i], std::nullopt, std::nullopt, std::nullopt, {}});
        parsed->push_back(std::move(p));
    }
    benchmark::RegisterBenchmark(("pipeline/" + name).c_str(), [engine, parsed](benchmark::State &st) {
        for (auto _ : st)
            for (const auto &p : *parsed) benchmark::DoNotOptimize(engine->analyze(p.view()));
        st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(parsed->size()));
    })->Unit(benchmark::kMillisecond);

    for (std::uint32_t n : {31u, 200u, 1000u})
        for (std::uint64_t d : {256ull, 1024ull, 4096ull}) {
            auto data = std::make_shared<std::vector<float>>(n * d);
            std::mt19937 rng(n * 7919 + static_cast<std::uint32_t>(d));
            std::normal_distribution<float> normal;
            for (auto &x : *data) x = normal(rng);
            benchmark::RegisterBenchmark(
                ("similarity_dense/" + name + "/" + std::to_string(n) + "/" + std::to_string(d)).c_str(),
                [engine, data, n, d](benchmark::State &st) {
                    for (auto _ : st) benchmark::DoNotOptimize(engine->similarity(data->data(), n, d));
                    // multiply-adds of the upper triangle incl. norms
                    const double flops = 2.0 * static_cast<double>(d) * (static_cast<double>(n) * (n + 1) / 2.0);
                    st.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9 * static_cast<double>(st.iterations()),
                                                               benchmark::Counter::kIsRate);
                })
                ->Unit(benchmark::kMillisecond);
        }
}

}  // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    const auto panels = load_panels();
    coe::EngineOptions probe_options;
    probe_options.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    probe_options.use_environment = false;
    coe::Engine probe(probe_options);
    for (const auto &b : probe.backends()) {
        if (b.status == coe::BackendStatus::rejected) {
            std::cerr << "skipping backend " << b.name << ": " << b.reason << "\n";
            continue;
        }
        register_backend(b.name, panels);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
