// Backends side by side on the same workloads, in one run:
//   featurize/<backend>                      MB/s over the texts of the MT-Bench panels
//   similarity_sparse/<backend>/<n>          hashed TF-IDF rows of n MT-Bench responses
//   similarity_dense/<backend>/<n>/<dim>     n random vectors of dim floats
//   pipeline/<backend>                       Engine::analyze_into (one Report reused) on the 80 MT-Bench
//                                            panels, one thread;
//                                            counters: bytes and allocations (operator new) per
//                                            panel after a warm-up pass, peak RSS
//   batch/<backend>/threads:<t>              analyze_batch of the 80 panels on t threads
//   stage/<stage>[/<backend>]                one stage of the pipeline on each of the 80 panels
//                                            (items = panels; counter budget_us: the budget per panel):
//                                            parse (a JSON line to a Panel), featurize, similarity,
//                                            cluster_consensus_aggregate (the engine's own stage timings
//                                            of Engine::analyze, manual time), serialise (report to JSON)
// Compare rows of one run as ratios; absolute numbers depend on the machine.
// Shadow checks are off (shadow_rate 0) so that each row measures one backend.
// COE_BENCH_CORPUS overrides the corpus path (default: ../shared/data).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <random>

#include <boost/json.hpp>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

// The replaced operator new takes its memory from malloc, and delete gives it
// back with free; GCC 12 takes the inlined pairs for mismatches.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// ---- counting allocator: bytes the process allocates, for the per-panel counter
namespace {
std::atomic<std::uint64_t> g_allocated{0};
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void *operator new(std::size_t n) {
    g_allocated.fetch_add(n, std::memory_order_relaxed);
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }

namespace {

// The non-blank lines of the corpus, and the texts of each panel's responses.
void load_panels(std::vector<std::string> &lines, std::vector<std::vector<std::string>> &panels) {
    const char *env = std::getenv("COE_BENCH_CORPUS");
    const std::string file = env ? env : COE_BENCH_DEFAULT_CORPUS;
    std::ifstream in(file);
    if (!in) {
        std::cerr << "cannot open corpus " << file << " (set COE_BENCH_CORPUS)\n";
        std::exit(1);
    }
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        lines.push_back(line);
        auto doc = boost::json::parse(line);
        std::vector<std::string> texts;
        for (const auto &r : doc.at("responses").as_array()) texts.emplace_back(r.at("content").as_string());
        panels.push_back(std::move(texts));
    }
}

std::shared_ptr<coe::Engine> engine_for(const std::string &backend) {
    coe::EngineOptions o;
    o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    o.use_environment = false;
    o.backend = backend;
    o.resilience.shadow_rate = 0;
    return std::make_shared<coe::Engine>(o);
}

double peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) * 1024.0;
}

struct Corpus {
    std::vector<std::string> lines;               // the JSON line of each panel
    std::vector<std::vector<std::string>> texts;  // by panel
    std::vector<std::string_view> pooled;         // every response of every panel
    std::vector<coe::Panel> panels;
    std::vector<coe::PanelView> views;
    std::int64_t bytes = 0;
};

void register_backend(const std::string &name, const std::shared_ptr<const Corpus> &corpus) {
    const std::shared_ptr<coe::Engine> engine = engine_for(name);
    auto ms = [](benchmark::internal::Benchmark *b) { b->Unit(benchmark::kMillisecond); };

    ms(benchmark::RegisterBenchmark(("featurize/" + name).c_str(), [engine, corpus](benchmark::State &st) {
        for (auto _ : st)
            for (const auto &t : corpus->texts)
                benchmark::DoNotOptimize(engine->featurize(std::vector<std::string_view>(t.begin(), t.end())));
        st.SetBytesProcessed(st.iterations() * corpus->bytes);
    }));

    for (std::uint32_t n : {5u, 31u, 200u, 1000u}) {
        auto rows = std::make_shared<coe::SparseRows>(
            engine->featurize(std::vector<std::string_view>(corpus->pooled.begin(), corpus->pooled.begin() + n)));
        ms(benchmark::RegisterBenchmark(("similarity_sparse/" + name + "/" + std::to_string(n)).c_str(),
                                        [engine, rows](benchmark::State &st) {
                                            for (auto _ : st) benchmark::DoNotOptimize(engine->similarity(*rows));
                                        }));
        for (std::uint64_t d : {256ull, 1024ull, 4096ull}) {
            auto data = std::make_shared<std::vector<float>>(n * d);
            std::mt19937 rng(n * 7919 + static_cast<std::uint32_t>(d));
            std::normal_distribution<float> normal;
            for (auto &x : *data) x = normal(rng);
            ms(benchmark::RegisterBenchmark(
                ("similarity_dense/" + name + "/" + std::to_string(n) + "/" + std::to_string(d)).c_str(),
                [engine, data, n, d](benchmark::State &st) {
                    for (auto _ : st) benchmark::DoNotOptimize(engine->similarity(data->data(), n, d));
                    // multiply-adds of the upper triangle, diagonal included
                    const double flops = 2.0 * static_cast<double>(d) * (static_cast<double>(n) * (n + 1) / 2.0);
                    st.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9 * static_cast<double>(st.iterations()),
                                                               benchmark::Counter::kIsRate);
                }));
        }
    }

    ms(benchmark::RegisterBenchmark(("pipeline/" + name).c_str(), [engine, corpus](benchmark::State &st) {
        coe::Report report;  // reused, as a host analysing panel after panel would
        for (const auto &v : corpus->views) engine->analyze_into(v, report);  // warm-up
        // counted inside each iteration: the benchmark library allocates a little between them
        std::uint64_t bytes = 0, count = 0;
        for (auto _ : st) {
            const std::uint64_t bytes_before = g_allocated.load(), count_before = g_allocations.load();
            for (const auto &v : corpus->views) {
                engine->analyze_into(v, report);
                benchmark::DoNotOptimize(report);
            }
            bytes += g_allocated.load() - bytes_before;
            count += g_allocations.load() - count_before;
        }
        const double panels = static_cast<double>(st.iterations()) * static_cast<double>(corpus->views.size());
        st.SetItemsProcessed(static_cast<std::int64_t>(panels));
        st.counters["alloc_bytes_per_panel"] = static_cast<double>(bytes) / panels;
        st.counters["allocs_per_panel"] = static_cast<double>(count) / panels;
        st.counters["peak_rss_bytes"] = peak_rss_bytes();
    }));

    // ---- the stages of one panel, each on its own (per-panel budgets in µs)
    auto per_panel = [corpus](benchmark::State &st, double budget_us) {
        st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(corpus->views.size()));
        st.counters["budget_us"] = budget_us;
    };
    ms(benchmark::RegisterBenchmark(("stage/featurize/" + name).c_str(),
                                    [engine, corpus, per_panel](benchmark::State &st) {
                                        std::vector<std::vector<std::string_view>> views;
                                        for (const auto &t : corpus->texts) views.emplace_back(t.begin(), t.end());
                                        for (auto _ : st)
                                            for (const auto &v : views) benchmark::DoNotOptimize(engine->featurize(v));
                                        per_panel(st, 30);
                                    }));
    {
        auto rows = std::make_shared<std::vector<coe::SparseRows>>();
        for (const auto &t : corpus->texts)
            rows->push_back(engine->featurize(std::vector<std::string_view>(t.begin(), t.end())));
        ms(benchmark::RegisterBenchmark(("stage/similarity/" + name).c_str(),
                                        [engine, rows, per_panel](benchmark::State &st) {
                                            for (auto _ : st)
                                                for (const auto &r : *rows)
                                                    benchmark::DoNotOptimize(engine->similarity(r));
                                            per_panel(st, 15);
                                        }));
    }
    ms(benchmark::RegisterBenchmark(("stage/cluster_consensus_aggregate/" + name).c_str(), [engine, corpus, per_panel](
                                                                                               benchmark::State &st) {
           for (auto _ : st) {
               double ms_total = 0;
               for (const auto &v : corpus->views) {
                   const coe::Report r = engine->analyze(v);
                   ms_total += r.timing.cluster + r.timing.consensus + r.timing.aggregate;
               }
               st.SetIterationTime(ms_total / 1000.0);
           }
           per_panel(st, 20);
       })->UseManualTime());
    if (name == "scalar") {  // backend-independent stages, registered once
        ms(benchmark::RegisterBenchmark("stage/parse", [corpus, per_panel](benchmark::State &st) {
            for (auto _ : st)
                for (std::size_t i = 0; i < corpus->lines.size(); ++i)
                    benchmark::DoNotOptimize(coe::parse_panel_line(corpus->lines[i], "bench", i + 1));
            per_panel(st, 20);
        }));
        auto reports = std::make_shared<std::vector<coe::Report>>();
        for (const auto &v : corpus->views) reports->push_back(engine->analyze(v));
        ms(benchmark::RegisterBenchmark("stage/serialise", [reports, per_panel](benchmark::State &st) {
            for (auto _ : st)
                for (const auto &r : *reports) benchmark::DoNotOptimize(coe::to_json(r));
            per_panel(st, 15);
        }));
    }

    for (unsigned threads : {1u, 2u}) {
        ms(benchmark::RegisterBenchmark(
               ("batch/" + name + "/threads:" + std::to_string(threads)).c_str(),
               [engine, corpus, threads](benchmark::State &st) {
                   for (auto _ : st) benchmark::DoNotOptimize(engine->analyze_batch(corpus->views, {}, threads));
                   st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(corpus->views.size()));
               })
               ->UseRealTime());
    }
}

}  // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    auto corpus = std::make_shared<Corpus>();
    load_panels(corpus->lines, corpus->texts);
    for (const auto &panel : corpus->texts) {
        coe::Panel p;
        for (std::size_t i = 0; i < panel.size(); ++i) {
            corpus->pooled.push_back(panel[i]);
            corpus->bytes += static_cast<std::int64_t>(panel[i].size());
            p.responses.push_back(
                {"expert-" + std::to_string(i), panel[i], std::nullopt, std::nullopt, std::nullopt, {}});
        }
        corpus->panels.push_back(std::move(p));
    }
    if (corpus->pooled.size() < 1000) {
        std::cerr << "the corpus has " << corpus->pooled.size() << " responses; 1000 are needed\n";
        return 1;
    }
    for (const auto &p : corpus->panels) corpus->views.push_back(p.view());

    coe::EngineOptions probe_options;
    probe_options.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    probe_options.use_environment = false;
    coe::Engine probe(probe_options);
    for (const auto &b : probe.backends()) {
        if (b.status == coe::BackendStatus::rejected) {
            std::cerr << "skipping backend " << b.name << ": " << b.reason << "\n";
            continue;
        }
        register_backend(b.name, corpus);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
