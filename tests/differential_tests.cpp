// Every backend against the built-in scalar reference:
//   coe_differential_tests --backend=<name> [doctest options]
// featurize must be bit-identical, similarity within 1e-5.  Exits 77
// (reported by CTest as skipped, with the reason printed) when this CPU
// cannot run the backend; a backend that is missing altogether fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>

#include <sstream>

#include <dlfcn.h>

#include "coe/coe_plugin.h"

#include "coe/cpu_features.hpp"
#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "test_support.hpp"

using namespace coe;

namespace {

std::string g_backend;
std::unique_ptr<Engine> g_candidate;  // forced to g_backend
std::unique_ptr<Engine> g_reference;  // built-in scalar only

std::vector<std::string_view> views(const std::vector<std::string> &v) { return {v.begin(), v.end()}; }

void require_identical(const SparseRows &a, const SparseRows &b) {
    REQUIRE(a.row_offsets == b.row_offsets);
    REQUIRE(a.indices == b.indices);
    REQUIRE(a.values.size() == b.values.size());
    if (!a.values.empty()) REQUIRE(std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
}

void require_close(const Matrix &a, const Matrix &b, float tol = 1e-5f) {
    REQUIRE(a.rows == b.rows);
    float worst = 0.f;
    for (std::size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, std::fabs(a.data[i] - b.data[i]));
    CHECK_MESSAGE(worst <= tol, "largest difference " << worst);
}

void require_well_formed(const Matrix &m) {
    for (std::uint32_t i = 0; i < m.rows; ++i) {
        REQUIRE(m(i, i) == 1.f);
        for (std::uint32_t j = 0; j < m.rows; ++j) {
            REQUIRE(m(i, j) == m(j, i));
            REQUIRE(m(i, j) >= -1.f);
            REQUIRE(m(i, j) <= 1.f);
        }
    }
}

std::vector<std::string> random_texts(std::mt19937 &rng, std::size_t count) {
    static const char *words[] = {
        "Alpha", "beta",   "GAMMA", "the",       "and",         "of",           "x",
        "42",    "data",   "model", "consensus", "caf\xc3\xa9", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac",
        "AI",    "expert", "don't", "e.g.",      "co-operate",  "1st",          "\xf0\x9f\x98\x80",
        "Zebra"};
    static const char *seps[] = {" ", "  ", ", ", ". ", "\n", "\t", "!", " - ", "**", "(", ") "};
    std::vector<std::string> texts(count);
    for (auto &t : texts) {
        std::size_t n = std::uniform_int_distribution<std::size_t>(0, 120)(rng);
        for (std::size_t k = 0; k < n; ++k) {
            t += words[rng() % (sizeof words / sizeof *words)];
            t += seps[rng() % (sizeof seps / sizeof *seps)];
        }
    }
    return texts;
}

std::vector<FeaturizeOptions> option_grid() {
    std::vector<FeaturizeOptions> grid;
    for (std::uint32_t bits : {4u, 12u, 18u, 24u})
        for (int flags = 0; flags < 64; flags += (bits == 18u ? 1 : 63)) {
            FeaturizeOptions o;
            o.bucket_bits = bits;
            o.bigrams = flags & 1;
            o.stop_words = flags & 2;
            o.sublinear_tf = flags & 4;
            o.idf = flags & 8;
            o.l2_normalize = flags & 16;
            o.stem = flags & 32;
            grid.push_back(o);
        }
    return grid;
}

}  // namespace

TEST_CASE("featurize is bit-identical on random texts, for every option") {
    std::mt19937 rng(7);
    for (const auto &opt : option_grid()) {
        auto texts = random_texts(rng, 1 + rng() % 40);
        auto v = views(texts);
        require_identical(g_candidate->featurize(v, opt), g_reference->featurize(v, opt));
    }
}

TEST_CASE("featurize and sparse similarity are bit-identical on the MT-Bench panels") {
    const auto panels = coe::test::mtbench_panel_texts();
    REQUIRE(panels.size() == 80);
    for (const auto &texts : panels) {
        auto v = views(texts);
        SparseRows a = g_candidate->featurize(v), b = g_reference->featurize(v);
        require_identical(a, b);
        Matrix sa = g_candidate->similarity(a), sb = g_reference->similarity(b);
        require_well_formed(sa);
        require_close(sa, sb, 0.f);  // the sparse path is bit-identical by design
    }
}

TEST_CASE("dense similarity within 1e-5 for every shape") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (std::uint32_t n : {1u, 2u, 5u, 31u, 64u})
        for (std::uint64_t d :
             {1ull, 3ull, 7ull, 8ull, 15ull, 16ull, 17ull, 33ull, 100ull, 256ull, 1000ull, 1024ull, 4096ull}) {
            CAPTURE(n);
            CAPTURE(d);
            std::vector<float> v(n * d);
            for (auto &x : v) x = normal(rng);
            if (n > 2) std::fill(v.begin() + d, v.begin() + 2 * d, 0.f);  // a zero vector
            Matrix a = g_candidate->similarity(v.data(), n, d), b = g_reference->similarity(v.data(), n, d);
            require_well_formed(a);
            require_close(a, b);
            if (n > 2) CHECK(a(1, 0) == 0.f);
        }
}

TEST_CASE("dense similarity of vectors with extreme magnitudes") {
    // cosine does not depend on scale: huge and tiny vectors must work
    for (float scale : {1e38f, 1e20f, 1e-20f, 1e-30f}) {
        CAPTURE(scale);
        std::vector<float> v = {scale, 0.f, scale, scale, 0.f, scale, scale, scale, scale};
        Matrix m = g_candidate->similarity(v.data(), 3, 3);
        CHECK(m(0, 1) == doctest::Approx(1.0));
        CHECK(m(0, 2) == doctest::Approx(2.0 / std::sqrt(6.0)).epsilon(1e-5));
        CHECK(m(1, 2) == doctest::Approx(2.0 / std::sqrt(6.0)).epsilon(1e-5));
    }
}

TEST_CASE("sparse similarity within 1e-5 on random sparse rows") {
    std::mt19937 rng(13);
    for (int round = 0; round < 20; ++round) {
        SparseRows rows;
        rows.dimension = 1u << 12;
        const auto n = static_cast<std::uint32_t>(1 + rng() % 50);
        for (std::uint32_t i = 0; i < n; ++i) {
            std::vector<std::uint32_t> idx(rows.dimension);
            std::iota(idx.begin(), idx.end(), 0u);
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(rng() % 300);
            std::sort(idx.begin(), idx.end());
            for (auto k : idx) {
                rows.indices.push_back(k);
                rows.values.push_back(std::uniform_real_distribution<float>(-2.f, 2.f)(rng));
            }
            rows.row_offsets.push_back(rows.indices.size());
        }
        Matrix a = g_candidate->similarity(rows), b = g_reference->similarity(rows);
        require_well_formed(a);
        require_close(a, b);
    }
}

TEST_CASE("permuting the vectors permutes the similarity matrix") {
    const auto texts = coe::test::mtbench_panel_texts().at(3);
    std::vector<std::size_t> perm(texts.size());
    std::iota(perm.begin(), perm.end(), 0u);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(5));
    std::vector<std::string> shuffled;
    for (auto p : perm) shuffled.push_back(texts[p]);
    Matrix a = g_candidate->similarity(g_candidate->featurize(views(texts)));
    Matrix b = g_candidate->similarity(g_candidate->featurize(views(shuffled)));
    for (std::uint32_t i = 0; i < perm.size(); ++i)
        for (std::uint32_t j = 0; j < perm.size(); ++j)
            CHECK(std::fabs(b(i, j) - a(static_cast<std::uint32_t>(perm[i]), static_cast<std::uint32_t>(perm[j]))) <=
                  1e-5f);
}

TEST_CASE("bad input is refused by every backend with a message") {
    std::vector<float> v = {1.f, std::nanf(""), 0.f, 1.f};
    CHECK_THROWS_WITH_AS(g_candidate->similarity(v.data(), 2, 2), doctest::Contains("non-finite"), coe::Error);
    SparseRows unsorted;
    unsorted.dimension = 16;
    unsorted.indices = {3, 2};
    unsorted.values = {1.f, 1.f};
    unsorted.row_offsets = {0, 2};
    CHECK_THROWS_WITH_AS(g_candidate->similarity(unsorted), doctest::Contains("not strictly increasing"), coe::Error);
    unsorted.indices = {3, 16};
    CHECK_THROWS_WITH_AS(g_candidate->similarity(unsorted), doctest::Contains(">= index_bound"), coe::Error);
    FeaturizeOptions o;
    o.bucket_bits = 30;
    CHECK_THROWS_AS(g_candidate->featurize({"a b"}, o), coe::Error);
}

namespace {

void require_same_report(const Report &a, const Report &b) {
    const double tol = 1e-5;
    CHECK(a.consensus.level == b.consensus.level);
    CHECK(a.consensus.medoid == b.consensus.medoid);
    CHECK(a.consensus.majority_cluster == b.consensus.majority_cluster);
    CHECK(std::fabs(a.consensus.score - b.consensus.score) <= tol);
    CHECK(std::fabs(a.consensus.majority_share - b.consensus.majority_share) <= tol);
    CHECK(std::fabs(a.consensus.margin - b.consensus.margin) <= tol);
    CHECK(std::fabs(a.consensus.entropy - b.consensus.entropy) <= tol);
    CHECK(std::fabs(a.confidence - b.confidence) <= tol);
    REQUIRE(a.clusters.size() == b.clusters.size());
    for (std::size_t k = 0; k < a.clusters.size(); ++k) {
        CHECK(a.clusters[k].members == b.clusters[k].members);
        CHECK(a.clusters[k].representative == b.clusters[k].representative);
        CHECK(std::fabs(a.clusters[k].cohesion - b.clusters[k].cohesion) <= tol);
    }
    REQUIRE(a.experts.size() == b.experts.size());
    for (std::size_t i = 0; i < a.experts.size(); ++i) {
        CHECK(a.experts[i].cluster == b.experts[i].cluster);
        CHECK(a.experts[i].outlier == b.experts[i].outlier);
        CHECK(std::fabs(a.experts[i].centrality - b.experts[i].centrality) <= tol);
    }
    for (auto lists :
         {std::make_pair(&a.recommendations, &b.recommendations), std::make_pair(&a.limitations, &b.limitations)}) {
        REQUIRE(lists.first->size() == lists.second->size());
        for (std::size_t i = 0; i < lists.first->size(); ++i) {
            const auto &x = (*lists.first)[i], &y = (*lists.second)[i];
            CHECK(x.text == y.text);
            CHECK(x.supporters == y.supporters);
            CHECK(x.consensus == y.consensus);
            CHECK(std::fabs(x.score - y.score) <= tol);
        }
    }
}

}  // namespace

namespace {

// An operation of a plugin file, called directly (no engine in between).
const coe_operation *plugin_operation(const std::string &backend, const char *id, std::uint32_t revision) {
    const auto file = coe::test::backend_plugin_dir() / ("coe_backend_" + backend + ".so");
    void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: plugins are not unloaded
    REQUIRE_MESSAGE(handle != nullptr, file.string());
    auto entry = reinterpret_cast<coe_plugin_entry_fn>(::dlsym(handle, COE_PLUGIN_ENTRY_SYMBOL));
    REQUIRE(reinterpret_cast<void *>(entry) != nullptr);
    const coe_plugin_descriptor *d = entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    for (std::uint32_t i = 0; i < d->operation_count; ++i)
        if (std::strcmp(d->operations[i]->id, id) == 0 && d->operations[i]->revision == revision)
            return d->operations[i];
    FAIL(backend << " does not provide " << id << "/" << revision);
    return nullptr;
}

SparseRows call_featurize(const coe_operation *op, const std::vector<std::string> &texts, std::uint32_t flags,
                          std::uint32_t bits) {
    std::vector<const char *> ptrs;
    std::vector<std::uint64_t> lengths;
    std::uint64_t capacity = texts.size();
    for (const auto &t : texts) {
        ptrs.push_back(t.data());
        lengths.push_back(t.size());
        capacity += t.size();
    }
    SparseRows r;
    r.row_offsets.resize(texts.size() + 1);
    r.indices.resize(capacity);
    r.values.resize(capacity);
    coe_featurize_args a{};
    a.struct_size = sizeof a;
    a.text_count = static_cast<std::uint32_t>(texts.size());
    a.texts = ptrs.data();
    a.text_lengths = lengths.data();
    a.bucket_bits = bits;
    a.flags = flags;
    a.entry_capacity = capacity;
    a.row_offsets = r.row_offsets.data();
    a.indices = r.indices.data();
    a.values = r.values.data();
    char message[256] = {};
    coe_call call{sizeof call, sizeof message, message};
    REQUIRE_MESSAGE(op->invoke(&a, &call) == COE_OK, message);
    r.indices.resize(a.entry_count);
    r.values.resize(a.entry_count);
    return r;
}

}  // namespace

TEST_CASE("both featurize revisions of the plugin file equal the scalar plugin's, bit for bit") {
    if (g_backend == "scalar") return;  // the reference itself
    const auto panels = coe::test::mtbench_panel_texts();
    for (std::uint32_t revision : {1u, 2u}) {
        CAPTURE(revision);
        const coe_operation *candidate = plugin_operation(g_backend, COE_OP_FEATURIZE, revision);
        const coe_operation *reference = plugin_operation("scalar", COE_OP_FEATURIZE, revision);
        for (std::uint32_t flags : {0u, 63u, 59u, 34u})
            for (std::size_t p = 0; p < panels.size(); p += 7)
                require_identical(call_featurize(candidate, panels[p], flags, 18),
                                  call_featurize(reference, panels[p], flags, 18));
    }
}

TEST_CASE("scratch kept between calls: panels of growing and shrinking sizes give what a first call gives") {
    // each call's result must not depend on what the thread ran before
    // (under ASan this also catches a scratch buffer used past its size)
    const auto panels = coe::test::mtbench_panel_texts();
    std::mt19937 rng(3);
    std::vector<std::vector<std::string>> inputs;
    for (std::size_t p = 0; p < 12; ++p) {
        auto texts = panels[p];
        texts.resize(1 + rng() % texts.size());                                          // 1..31 answers
        if (p % 3 == 0) texts.push_back(std::string(200000, 'a') + " tail words here");  // one long text
        inputs.push_back(std::move(texts));
    }
    for (std::uint32_t revision : {1u, 2u}) {
        const coe_operation *op = plugin_operation(g_backend, COE_OP_FEATURIZE, revision);
        std::vector<SparseRows> forward;
        for (const auto &t : inputs) forward.push_back(call_featurize(op, t, 63, 18));
        for (std::size_t i = inputs.size(); i-- > 0;)
            require_identical(call_featurize(op, inputs[i], 63, 18), forward[i]);
    }
    // the same through the engine: featurize, similarity, and whole reports
    std::vector<Matrix> sims;
    for (const auto &t : inputs) sims.push_back(g_candidate->similarity(g_candidate->featurize(views(t))));
    for (std::size_t i = inputs.size(); i-- > 0;)
        require_close(g_candidate->similarity(g_candidate->featurize(views(inputs[i]))), sims[i], 0.f);
}

TEST_CASE("the whole report is the same as scalar's on all 80 MT-Bench panels") {
    std::ifstream in(coe::test::shared_data_dir() / "mtbench-panels.jsonl");
    std::stringstream text;
    text << in.rdbuf();
    std::size_t panels = 0;
    for (auto &line : parse_panel_lines(text.str(), "mtbench-panels.jsonl")) {
        const Panel &p = std::get<Panel>(line.panel_or_error);
        CAPTURE(p.id);
        require_same_report(g_candidate->analyze(p.view()), g_reference->analyze(p.view()));
        ++panels;
    }
    CHECK(panels == 80);
}

TEST_CASE("the whole report is the same as scalar's on embedding panels") {
    std::mt19937 rng(31);
    std::normal_distribution<float> noise(0.f, 0.2f);
    for (int round = 0; round < 20; ++round) {
        Panel p;
        const std::size_t dim = 1 + rng() % 300, n = 2 + rng() % 30;
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<float> v(dim);
            for (auto &x : v) x = noise(rng);
            v[rng() % std::min<std::size_t>(dim, 3)] += 1.f;
            p.responses.push_back({"e" + std::to_string(i), "- a recommendation", std::nullopt, std::nullopt,
                                   std::nullopt, std::move(v)});
        }
        require_same_report(g_candidate->analyze(p.view()), g_reference->analyze(p.view()));
    }
}

int main(int argc, char **argv) {
    std::uint64_t masked = 0;  // --mask-cpu=<feature>: act as on a CPU without it
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--backend=", 10) == 0) g_backend = argv[i] + 10;
        if (std::strncmp(argv[i], "--mask-cpu=", 11) == 0) {
            auto bit = cpu_feature_from_name(argv[i] + 11);
            if (!bit) {
                std::cerr << "unknown CPU feature " << argv[i] + 11 << "\n";
                return 2;
            }
            masked |= *bit;
        }
    }
    if (g_backend.empty()) {
        std::cerr << "usage: coe_differential_tests --backend=<name> [doctest options]\n";
        return 2;
    }
    EngineOptions all = coe::test::isolated_options({coe::test::backend_plugin_dir()});
    all.mask_cpu_features = masked;
    {
        Engine probe(all);
        const std::vector<BackendInfo> candidates = probe.backends();
        const BackendInfo *info = nullptr;
        for (const auto &b : candidates)
            if (b.name == g_backend) info = &b;
        if (info == nullptr) {
            std::cerr << "FAILED: backend '" << g_backend << "' not found in " << coe::test::backend_plugin_dir()
                      << "\n";
            return 1;
        }
        if (info->status == BackendStatus::rejected) {
            std::cout << "SKIPPED: backend " << g_backend << " cannot run here"
                      << (masked ? " (CPU features masked for this test)" : "") << ": " << info->reason << "\n";
            return 77;
        }
    }
    all.backend = g_backend;
    g_candidate = std::make_unique<Engine>(all);
    g_reference = std::make_unique<Engine>(coe::test::isolated_options({}));
    std::cout << "comparing backend " << g_candidate->active_backend() << " against the built-in scalar reference\n";
    doctest::Context context(argc, argv);
    const int rc = context.run();
    g_candidate.reset();
    g_reference.reset();
    return rc;
}
