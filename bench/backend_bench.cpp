// Backends side by side on the same workloads, in one run:
//   featurize/<backend>                      MB/s over the texts of the MT-Bench panels
//   similarity_sparse/<backend>/<n>          hashed TF-IDF rows of n MT-Bench responses
//   similarity_dense/<backend>/<n>/<dim>     n random vectors of dim floats (n 5..1000 x dim 256..4096;
//                                            n 1000 and 10000 x dim 100)
//   pipeline/<backend>                       Engine::analyze_into (one Report reused) on the 80 MT-Bench
//                                            panels, one thread, --features tfidf;
//   pipeline_word_vectors/<backend>          the same with the default features when the word-vector file
//                                            is found (word_vectors_search_path; COE_DATA_DIR): the real
//                                            vectors, loaded before timing starts; skipped, saying so,
//                                            without the file;
//                                            counters: bytes and allocations (operator new) per
//                                            panel after a warm-up pass, peak RSS
//   batch/<backend>/threads:<t>              analyze_batch of the 80 panels on t threads
//   embed_words/<backend>                    Engine::embed_words (coe.embed_words/1) once per MT-Bench panel
//                                            on its answers and the recommendation and limitation items
//                                            pulled out of them, with a synthetic table of the size of a
//                                            real one (341,479 words x 100 dims: every word of the corpus
//                                            plus random filler words, random vectors and weights);
//                                            items = panels, bytes = the texts' bytes; counters: texts and
//                                            known words per panel
//   stage/<stage>[/<backend>]                one stage of the pipeline on each of the 80 panels
//                                            (items = panels; counter budget_us: the budget per panel):
//                                            parse (a JSON line to a Panel), featurize, similarity,
//                                            cluster_consensus_aggregate (the engine's own stage timings
//                                            of Engine::analyze, manual time), serialise (report to JSON)
// Compare rows of one run as ratios; absolute numbers depend on the machine.
// Shadow checks are off (shadow_rate 0, and no probation: its first 64 calls
// of each operation would also run the scalar reference, which dominated the
// rows that run few, large calls) so that each row measures one backend.
// COE_BENCH_CORPUS overrides the corpus path (default: ../shared/data).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <algorithm>
#include <new>
#include <random>
#include <set>

#include <boost/json.hpp>

#include "analysis/markdown_items.hpp"
#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "coe/word_vectors.hpp"
#include "features/word_table.hpp"

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

// The engine of one backend (forced by name, so a device backend too); TF-IDF
// features unless a word-vector file is named (then the default, automatic,
// which picks it).
std::shared_ptr<coe::Engine> engine_for(const std::string &backend, const std::string &word_vectors = {}) {
    coe::EngineOptions o;
    o.plugin_paths = {COE_BENCH_PLUGIN_DIR};
    o.use_environment = false;
    o.backend = backend;
    o.resilience.shadow_rate = 0;
    o.resilience.shadow_probation_calls = 0;  // else a row's first 64 calls also run scalar
    // the backend itself is measured: no call above 100 ms is also run on
    // the scalar reference to compare times, and no breaker demotes a
    // backend that is slower than it (a CPU-type Vulkan device would be)
    o.resilience.breaker.mode = coe::BreakerMode::metrics_only;
    o.resilience.breaker.slow_call_duration_ms = 0;
    o.resilience.breaker.slower_than_reference_calls = 0;
    if (word_vectors.empty()) o.features = coe::FeatureKind::tfidf;
    else o.word_vectors_file = word_vectors;
    return std::make_shared<coe::Engine>(o);
}

// The real word-vector file where the engine would find it; empty if none.
std::string real_word_vectors() {
    for (const auto &place : coe::word_vectors_search_path())
        if (place.missing.empty() && !place.file.empty()) return place.file;
    return {};
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

// ---- coe.embed_words/1: the texts of each panel and a table of real size

constexpr std::uint32_t embed_table_words = 341479, embed_table_dims = 100;

struct EmbedCorpus {
    std::vector<std::vector<std::string>> texts;  // by panel: its answers, then their items
    std::int64_t bytes = 0;
    coe::detail::WordTableData table;
};

bool token_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

// Built on first use (a few seconds, 270 MB at its peak), so that runs which
// filter embed_words out do not pay for it.
const EmbedCorpus &embed_corpus(const Corpus &corpus) {
    static const EmbedCorpus built = [&] {
        EmbedCorpus e;
        std::set<std::string> words;  // every token of the corpus, folded
        for (const auto &panel : corpus.texts) {
            std::vector<std::string> texts(panel.begin(), panel.end());
            for (const auto &answer : panel) {
                const coe::detail::MarkdownItems items = coe::detail::extract_markdown_items(answer);
                texts.insert(texts.end(), items.recommendations.begin(), items.recommendations.end());
                texts.insert(texts.end(), items.limitations.begin(), items.limitations.end());
            }
            for (const auto &t : texts) {
                e.bytes += static_cast<std::int64_t>(t.size());
                std::string token;
                for (char ch : t + " ") {
                    auto c = static_cast<unsigned char>(ch);
                    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + ('a' - 'A'));
                    if (token_byte(c)) {
                        token += static_cast<char>(c);
                    } else {
                        if (token.size() >= 2) words.insert(token);
                        token.clear();
                    }
                }
            }
            e.texts.push_back(std::move(texts));
        }
        std::mt19937 rng(341479);
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
        while (words.size() < embed_table_words) {  // filler: random words of 3 to 14 letters
            std::string w(3 + rng() % 12, 'a');
            for (auto &c : w) c = letters[rng() % 26];
            words.insert(std::move(w));
        }
        std::vector<std::string> list(words.begin(), words.end());
        // rows shuffled: the words of a text lie anywhere in the table's 70 MB (a real
        // file, sorted by frequency, keeps the common words close together)
        std::shuffle(list.begin(), list.end(), rng);
        std::normal_distribution<float> normal(0.f, 0.5f);
        std::vector<float> vectors(list.size() * embed_table_dims);
        for (auto &x : vectors) x = normal(rng);
        e.table = coe::detail::build_word_table(list, vectors, embed_table_dims);
        std::uniform_real_distribution<float> weight(0.5f, 8.f);  // IDF-like
        for (auto &w : e.table.weights) w = weight(rng);
        return e;
    }();
    return built;
}

// similarity_dense/<backend>/<n>/<d>: n random vectors of d floats.
void register_dense(const std::shared_ptr<coe::Engine> &engine, const std::string &name, std::uint32_t n,
                    std::uint64_t d) {
    auto data = std::make_shared<std::vector<float>>(n * d);
    std::mt19937 rng(n * 7919 + static_cast<std::uint32_t>(d));
    std::normal_distribution<float> normal;
    for (auto &x : *data) x = normal(rng);
    benchmark::RegisterBenchmark(
        ("similarity_dense/" + name + "/" + std::to_string(n) + "/" + std::to_string(d)).c_str(),
        [engine, data, n, d](benchmark::State &st) {
            for (auto _ : st) benchmark::DoNotOptimize(engine->similarity(data->data(), n, d));
            // multiply-adds of the upper triangle, diagonal included
            const double flops = 2.0 * static_cast<double>(d) * (static_cast<double>(n) * (n + 1) / 2.0);
            st.counters["GFLOPS"] =
                benchmark::Counter(flops * 1e-9 * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
        })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();  // wall clock: a device backend's work runs outside this thread
}

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
        for (std::uint64_t d : {256ull, 1024ull, 4096ull}) register_dense(engine, name, n, d);
    }
    // word-vector widths: 100 floats, up to 10,000 vectors
    for (std::uint32_t n : {1000u, 10000u}) register_dense(engine, name, n, 100);

    auto pipeline = [corpus](std::shared_ptr<coe::Engine> e, std::string features) {
        return [e, corpus, features](benchmark::State &st) {
            coe::Report report;  // reused, as a host analysing panel after panel would
            for (const auto &v : corpus->views) e->analyze_into(v, report);  // warm-up (and the file's loading)
            // counted inside each iteration: the benchmark library allocates a little between them
            std::uint64_t bytes = 0, count = 0;
            for (auto _ : st) {
                const std::uint64_t bytes_before = g_allocated.load(), count_before = g_allocations.load();
                for (const auto &v : corpus->views) {
                    e->analyze_into(v, report);
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
            if (report.features != features)
                st.SkipWithError(("the report used " + report.features + " features").c_str());
        };
    };
    ms(benchmark::RegisterBenchmark(("pipeline/" + name).c_str(), pipeline(engine, "tfidf")));
    if (const std::string file = real_word_vectors(); !file.empty())
        ms(benchmark::RegisterBenchmark(("pipeline_word_vectors/" + name).c_str(),
                                        pipeline(engine_for(name, file), "word_vectors")));
    else
        std::cerr << "skipping pipeline_word_vectors/" << name << ": no word-vector file ("
                  << "scripts/fetch-word-vectors.sh)\n";

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

    benchmark::RegisterBenchmark(("embed_words/" + name).c_str(), [engine, corpus](benchmark::State &st) {
        const EmbedCorpus &e = embed_corpus(*corpus);
        const coe_word_table table = e.table.view();
        std::vector<std::vector<std::string_view>> views;
        for (const auto &t : e.texts) views.emplace_back(t.begin(), t.end());
        double texts = 0, known = 0;
        for (const auto &v : views) {  // warm-up, and what the panels hold
            const coe::WordEmbeddings w = engine->embed_words(v, table);
            texts += static_cast<double>(v.size());
            for (std::uint32_t k : w.known_words) known += k;
        }
        for (auto _ : st)
            for (const auto &v : views) benchmark::DoNotOptimize(engine->embed_words(v, table));
        const auto panels = static_cast<double>(views.size());
        st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(views.size()));
        st.SetBytesProcessed(st.iterations() * e.bytes);
        st.counters["texts_per_panel"] = texts / panels;
        st.counters["known_words_per_panel"] = known / panels;
        st.counters["time_per_panel"] = benchmark::Counter(panels * static_cast<double>(st.iterations()),
                                                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    })->Unit(benchmark::kMicrosecond);

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
        try {
            register_backend(b.name, corpus);
        } catch (const std::exception &e) {  // e.g. a device backend whose device cannot start
            std::cerr << "skipping backend " << b.name << ": " << e.what() << "\n";
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
