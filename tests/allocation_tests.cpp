// Engine::analyze_into reuses the caller's report and the pipeline's
// per-thread buffers: the same reports as analyze() whatever the order and
// sizes of the panels, and, once the largest panel has been seen, no heap
// allocation at all (counted by replacing operator new in this program).
// On each backend this CPU can run; the others are named as skipped.
//
// To find an allocation this test reports, run it under gdb with
// COE_TRAP_ON_ALLOCATION=1: a counted allocation then stops with SIGTRAP.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <set>

#include <dlfcn.h>

#include "features/word_table.hpp"
#include "test_support.hpp"

using namespace coe;

// The replaced operator new takes its memory from malloc, and delete gives it
// back with free; GCC 12 takes the inlined pairs for mismatches.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};
bool g_trap = std::getenv("COE_TRAP_ON_ALLOCATION") != nullptr;
}  // namespace

void *operator new(std::size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) {
        g_allocations.fetch_add(1, std::memory_order_relaxed);
        if (g_trap) std::raise(SIGTRAP);
    }
    if (void *p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
// the nothrow forms too (std::stable_sort's buffer): every delete below frees malloc'ed memory
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    try {
        return operator new(n);
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}
void *operator new[](std::size_t n, const std::nothrow_t &tag) noexcept { return operator new(n, tag); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

namespace {

// Panels whose experts give explicit lists and embeddings (the other
// branches of the pipeline), in two sizes.
std::vector<Panel> list_and_embedding_panels() {
    std::vector<Panel> panels;
    std::mt19937 rng(7);
    for (std::size_t experts : {5u, 2u, 9u}) {
        Panel p;
        p.id = "lists-" + std::to_string(experts);
        p.question = "What should we do?";
        for (std::size_t e = 0; e < experts; ++e) {
            Response r;
            r.expert = "expert-" + std::to_string(e);
            r.content = "An answer of expert " + std::to_string(e) + " about caching and retries.";
            r.confidence = 0.5 + 0.05 * static_cast<double>(e);
            r.recommendations =
                std::vector<std::string>{"Cache the results", "Retry with backoff " + std::to_string(e % 3)};
            r.limitations = std::vector<std::string>{"Caches go stale"};
            for (int d = 0; d < 16; ++d) r.embedding.push_back(std::uniform_real_distribution<float>(-1, 1)(rng));
            p.responses.push_back(std::move(r));
        }
        panels.push_back(std::move(p));
    }
    return panels;
}

// The MT-Bench panels, some cut to fewer experts, in an order that makes
// the reused report shrink and grow, then the list/embedding panels.
std::vector<Panel> mixed_panels() {
    std::vector<Panel> panels = test::mtbench_panels();
    for (std::size_t i = 0; i < panels.size(); i += 3)
        panels[i].responses.resize(std::min<std::size_t>(panels[i].responses.size(), 1 + i % 7));
    for (Panel &p : list_and_embedding_panels()) panels.push_back(std::move(p));
    std::shuffle(panels.begin(), panels.end(), std::mt19937(11));
    return panels;
}

// The built-in backends this CPU runs; the others are reported as skipped.
std::vector<std::string> runnable_backends() {
    const Engine probe(test::isolated_options({test::backend_plugin_dir()}));
    std::vector<std::string> out;
    for (const std::string backend : {"scalar", "avx2", "avx512"}) {
        std::string why = "no such backend was found";
        for (const BackendInfo &info : probe.backends())
            if (info.name == backend) why = info.status != BackendStatus::rejected ? "" : info.reason;
        if (why.empty()) out.push_back(backend);
        else MESSAGE("SKIPPED on " << backend << ": " << why);
    }
    return out;
}

}  // namespace

TEST_CASE("analyze_into: the reports of analyze(), then no allocation per panel, on every backend") {
    const std::vector<Panel> panels = mixed_panels();
    std::vector<PanelView> views;
    for (const Panel &p : panels) views.push_back(p.view());
    for (const std::string &backend : runnable_backends()) {
        CAPTURE(backend);
        EngineOptions options = test::isolated_options({test::backend_plugin_dir()}, backend);
        // Shadow checks keep their reference result per thread too, but which
        // calls they sample is random, and so is when the reference last grew:
        // off here, as in the pipeline benchmark.
        options.resilience.shadow_rate = 0;
        const Engine engine(options);
        Report reused;
        for (const PanelView &v : views) {
            engine.analyze_into(v, reused);
            CHECK(test::report_essence(reused) == test::report_essence(engine.analyze(v)));
        }
        // a refused panel leaves the report usable, and the next one fills it
        PanelView bad = views.front();
        bad.responses.clear();
        CHECK_THROWS(engine.analyze_into(bad, reused));
        engine.analyze_into(views.back(), reused);
        CHECK(test::report_essence(reused) == test::report_essence(engine.analyze(views.back())));

        for (const PanelView &v : views) engine.analyze_into(v, reused);  // every size seen
        g_allocations = 0;
        g_counting = true;
        for (int pass = 0; pass < 2; ++pass)
            for (const PanelView &v : views) engine.analyze_into(v, reused);
        g_counting = false;
        CHECK_MESSAGE(g_allocations.load() == 0, g_allocations.load()
                                                     << " allocations in " << 2 * views.size() << " panels");
    }
}

TEST_CASE("embed_words: once a thread's scratch has grown, a call allocates nothing, on every backend") {
    // the MT-Bench answers, longest first (the scratch grows once), and a table of most of their words
    std::vector<std::vector<std::string>> panels = test::mtbench_panel_texts();
    std::set<std::string> distinct;
    for (const auto &panel : panels)
        for (const auto &text : panel) {
            std::string token;
            for (char ch : text + " ") {
                const auto c = static_cast<unsigned char>(ch);
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) token += ch;
                else if (c >= 'A' && c <= 'Z') token += static_cast<char>(c + ('a' - 'A'));
                else {
                    if (token.size() >= 2) distinct.insert(token);
                    token.clear();
                }
            }
        }
    std::mt19937 rng(12);
    std::vector<std::string> words;
    for (const auto &w : distinct)
        if (rng() % 5 != 0) words.push_back(w);
    std::vector<float> vectors(words.size() * 100);
    for (auto &x : vectors) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    const detail::WordTableData data = detail::build_word_table(words, vectors, 100);
    const coe_word_table table = data.view();

    for (const std::string &backend : runnable_backends()) {
        CAPTURE(backend);
        const auto file = test::backend_plugin_dir() / ("coe_backend_" + backend + ".so");
        void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: plugins are not unloaded
        REQUIRE(handle != nullptr);
        auto entry = reinterpret_cast<coe_plugin_entry_fn>(::dlsym(handle, COE_PLUGIN_ENTRY_SYMBOL));
        REQUIRE(reinterpret_cast<void *>(entry) != nullptr);
        const coe_plugin_descriptor *d = entry(COE_ABI_MAJOR, COE_ABI_MINOR);
        const coe_operation *op = nullptr;
        for (std::uint32_t i = 0; i < d->operation_count; ++i)
            if (std::strcmp(d->operations[i]->id, COE_OP_EMBED_WORDS) == 0) op = d->operations[i];
        REQUIRE(op != nullptr);

        std::vector<const char *> ptrs;
        std::vector<std::uint64_t> lengths;
        std::vector<float> out;
        std::vector<std::uint32_t> known;
        ptrs.reserve(64);
        lengths.reserve(64);
        out.reserve(64 * 100);
        known.reserve(64);
        char message[256] = {};
        coe_call call{sizeof call, sizeof message, message};
        auto run_all = [&] {
            for (const auto &panel : panels) {
                ptrs.clear();
                lengths.clear();
                for (const auto &t : panel) {
                    ptrs.push_back(t.data());
                    lengths.push_back(t.size());
                }
                out.resize(panel.size() * 100);
                known.resize(panel.size());
                coe_embed_words_args a = test::embed_words_args(panel.size(), ptrs.data(), lengths.data(), table, 100,
                                                                out.data(), known.data());
                REQUIRE_MESSAGE(op->invoke(&a, &call) == COE_OK, message);
            }
        };
        run_all();  // the scratch grows to the longest text
        g_allocations = 0;
        g_counting = true;
        for (int pass = 0; pass < 2; ++pass) run_all();
        g_counting = false;
        CHECK_MESSAGE(g_allocations.load() == 0, g_allocations.load()
                                                     << " allocations in " << 2 * panels.size() << " calls");
    }
}
