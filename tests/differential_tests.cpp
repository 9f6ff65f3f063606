// Every backend against the built-in scalar reference:
//   coe_differential_tests --backend=<name> [doctest options]
// featurize, embed_words and similarity/2 must be bit-identical,
// similarity/1's dense path within 1e-5.  Exits 77
// (reported by CTest as skipped, with the reason printed) when this CPU
// cannot run the backend; a backend that is missing altogether fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include <dlfcn.h>

#include <boost/json.hpp>

#include "coe/coe_plugin.h"

#include "coe/cpu_features.hpp"
#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "features/word_table.hpp"
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

// The vector backends hash tokens four or eight per step: every suffix rule
// at every token length around the one-block limit (8 bytes), stop words of
// 9 and 10 bytes (multi-block, handed back to the one-token path),
// non-ASCII tokens that end like a suffix, and texts whose token counts fall
// on and beside a step.
TEST_CASE("featurize is bit-identical on texts built for the token lanes") {
    std::vector<std::string> words = {"ourselves", "themselves", "yourselves",   "the",          "an",           "s",
                                      "is",        "us",         "caf\xc3\xa9s", "na\xc3\xafve", "\xc3\xa9ties", "x"};
    for (const char *suffix : {"s", "es", "ed", "ies", "ied", "ing", "ss", "us", "is", "e", "y", ""})
        for (std::size_t stem = 0; stem <= 9; ++stem) words.push_back(std::string(stem, 'k') + suffix);
    std::mt19937 rng(11);
    for (const auto &opt : option_grid()) {
        std::vector<std::string> texts;
        for (std::size_t tokens : {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 200}) {
            std::string t;
            for (std::size_t k = 0; k < tokens; ++k) (t += words[rng() % words.size()]) += (rng() % 3 ? " " : ", ");
            texts.push_back(t);
        }
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

namespace {

// coe.similarity/2's dense dot product written straight from the header:
// sixteen partial sums, term k to sum k mod 16, then the halves folded.
float header_dot(const float *u, const float *v, std::uint64_t d) {
    float p[16] = {};
    for (std::uint64_t k = 0; k < d; ++k) {
        const float term = u[k] * v[k];
        p[k % 16] = p[k % 16] + term;
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; ++l) p[l] = p[l] + p[l + w];
    return p[0];
}

// The whole coe.similarity/2 dense matrix from the header (rows of ordinary
// magnitude: no rescaling).
Matrix header_similarity(const std::vector<float> &v, std::uint32_t n, std::uint64_t d) {
    Matrix m;
    m.rows = m.cols = n;
    m.data.assign(static_cast<std::size_t>(n) * n, 0.f);
    std::vector<float> norm(n);
    for (std::uint32_t i = 0; i < n; ++i) norm[i] = std::sqrt(header_dot(&v[i * d], &v[i * d], d));
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t j = 0; j < n; ++j) {
            float c = 1.f;
            if (i != j) {
                c = norm[i] == 0.f || norm[j] == 0.f ? 0.f : header_dot(&v[i * d], &v[j * d], d) / (norm[i] * norm[j]);
                c = std::min(1.f, std::max(-1.f, c));
                if (c == 0.f) c = 0.f;
            }
            m.data[static_cast<std::size_t>(i) * n + j] = c;
        }
    return m;
}

void require_bits(const Matrix &a, const Matrix &b) {
    REQUIRE(a.rows == b.rows);
    REQUIRE(a.data.size() == b.data.size());
    std::size_t differing = 0;
    for (std::size_t k = 0; k < a.data.size(); ++k)
        differing += std::memcmp(&a.data[k], &b.data[k], sizeof(float)) != 0;
    CHECK_MESSAGE(differing == 0, differing << " of " << a.data.size() << " entries differ");
}

// n x d normal values; row 1 all zero when n > 2.
std::vector<float> random_rows(std::mt19937 &rng, std::uint32_t n, std::uint64_t d) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> v(n * d);
    for (auto &x : v) x = normal(rng);
    if (n > 2)
        std::fill(v.begin() + static_cast<std::ptrdiff_t>(d), v.begin() + static_cast<std::ptrdiff_t>(2 * d), 0.f);
    return v;
}

const std::uint32_t dense_counts[] = {1u, 2u, 3u, 4u, 5u, 6u, 7u, 9u, 11u, 13u, 31u, 64u};
const std::uint64_t dense_dims[] = {1ull,  3ull,   7ull,   8ull,    15ull,   16ull,  17ull,
                                    33ull, 100ull, 256ull, 1000ull, 1024ull, 4096ull};

}  // namespace

TEST_CASE("dense similarity is the header's coe.similarity/2, bit for bit, for every shape") {
    std::mt19937 rng(11);
    for (std::uint32_t n : dense_counts)
        for (std::uint64_t d : dense_dims) {
            CAPTURE(n);
            CAPTURE(d);
            const std::vector<float> v = random_rows(rng, n, d);
            const Matrix a = g_candidate->similarity(v.data(), n, d);
            require_well_formed(a);
            require_bits(a, header_similarity(v, n, d));
            require_bits(a, g_reference->similarity(v.data(), n, d));
            if (n > 2) CHECK(a(1, 0) == 0.f);
        }
}

// Larger matrices: past one 64 x 64 tile, past 512 vectors (where a device
// backend's host side uses several threads), in blocks of rows when the
// device's buffers (or COE_VULKAN_BLOCK_ROWS) cut the matrix.
TEST_CASE("larger dense matrices are the scalar reference's, bit for bit") {
    std::mt19937 rng(23);
    for (std::uint32_t n : {65u, 129u, 600u, 1100u})
        for (std::uint64_t d : {17ull, 100ull}) {
            CAPTURE(n);
            CAPTURE(d);
            const std::vector<float> v = random_rows(rng, n, d);
            const Matrix a = g_candidate->similarity(v.data(), n, d);
            require_well_formed(a);
            require_bits(a, g_reference->similarity(v.data(), n, d));
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

// Rows long enough for the vector lanes: the largest magnitude (which picks
// a row's power-of-two rescaling) in a lane or in the scalar tail, rows far
// above and below 1, and a non-finite value anywhere named by its row.
TEST_CASE("dense rows rescaled and checked in vector lanes as the scalar reference does") {
    std::mt19937 rng(29);
    for (std::uint64_t d : {16ull, 37ull, 100ull}) {
        CAPTURE(d);
        const std::uint32_t n = 9;
        std::vector<float> v = random_rows(rng, n, d);
        for (std::uint64_t k = 0; k < d; ++k) {
            v[2 * d + k] *= 0x1p60f;   // rescaled down
            v[4 * d + k] *= 0x1p-70f;  // rescaled up
        }
        v[5 * d + d / 2] = 0x1p55f;   // one huge value in the middle
        v[6 * d + d - 1] = -0x1p70f;  // the largest value in the last term (the tail unless d % 16 == 0)
        v[7 * d] = 0x1p-60f;          // a tiny row, its largest value first
        for (std::uint64_t k = 1; k < d; ++k) v[7 * d + k] = 0x1p-61f;
        const Matrix a = g_candidate->similarity(v.data(), n, d);
        require_well_formed(a);
        require_bits(a, g_reference->similarity(v.data(), n, d));
        for (float bad :
             {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), std::nanf("")})
            for (std::uint64_t at : {std::uint64_t{0}, std::uint64_t{15}, d - 1}) {
                CAPTURE(bad);
                CAPTURE(at);
                std::vector<float> w = v;
                w[4 * d + at] = bad;
                w[8 * d + 3] = bad;  // a later row too: the first is named
                CHECK_THROWS_WITH_AS(g_candidate->similarity(w.data(), n, d),
                                     doctest::Contains("vector 4 has a non-finite value"), coe::Error);
            }
    }
}

// Cosines at the edges, in rows long enough for the vector lanes of the
// cosine pass: copies of a few rows, negated and scaled (the quotient rounds
// to either side of +-1 and must be clamped), and zero rows (no norm).
TEST_CASE("dense cosines of copied, negated, scaled and zero rows are the scalar reference's") {
    std::mt19937 rng(31);
    for (std::uint64_t d : {5ull, 100ull}) {
        CAPTURE(d);
        const std::uint32_t n = 70, bases = 4;
        std::vector<float> v = random_rows(rng, n, d);
        std::uniform_real_distribution<float> factor(0.25f, 4.f);
        for (std::uint32_t i = bases; i < n; ++i) {
            const std::uint32_t base = i % bases;
            const float f = i % 7 == 0 ? 0.f : (i % 2 ? -1.f : 1.f) * (i % 3 ? factor(rng) : 1.f);
            for (std::uint64_t k = 0; k < d; ++k) v[i * d + k] = f * v[base * d + k];
        }
        const Matrix a = g_candidate->similarity(v.data(), n, d);
        require_well_formed(a);
        require_bits(a, g_reference->similarity(v.data(), n, d));
        require_bits(a, header_similarity(v, n, d));
        std::size_t plus_one = 0, minus_one = 0;
        for (float x : a.data) {
            plus_one += x == 1.f;
            minus_one += x == -1.f;
        }
        CHECK(plus_one > n);
        CHECK(minus_one > 0);
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

namespace {

// coe.similarity's sparse path written straight from its definition: each
// pair's products summed in double in increasing index order (a sorted
// merge), norms summed in entry order, one rounding to float.
Matrix sorted_merge_similarity(const SparseRows &r) {
    const auto n = static_cast<std::uint32_t>(r.rows());
    std::vector<double> norm(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        double sq = 0.0;
        for (std::uint64_t k = r.row_offsets[i]; k < r.row_offsets[i + 1]; ++k)
            sq += static_cast<double>(r.values[k]) * r.values[k];
        norm[i] = std::sqrt(sq);
    }
    Matrix m;
    m.rows = m.cols = n;
    m.data.assign(static_cast<std::size_t>(n) * n, 0.f);
    for (std::uint32_t i = 0; i < n; ++i) {
        m.data[static_cast<std::size_t>(i) * n + i] = 1.f;
        for (std::uint32_t j = i + 1; j < n; ++j) {
            double dot = 0.0;
            std::uint64_t x = r.row_offsets[i], y = r.row_offsets[j];
            while (x < r.row_offsets[i + 1] && y < r.row_offsets[j + 1]) {
                if (r.indices[x] < r.indices[y]) ++x;
                else if (r.indices[y] < r.indices[x]) ++y;
                else dot += static_cast<double>(r.values[x++]) * r.values[y++];
            }
            const double c = (norm[i] == 0.0 || norm[j] == 0.0) ? 0.0 : dot / (norm[i] * norm[j]);
            const float f = static_cast<float>(std::min(1.0, std::max(-1.0, c)));
            m.data[static_cast<std::size_t>(i) * n + j] = m.data[static_cast<std::size_t>(j) * n + i] = f;
        }
    }
    return m;
}

}  // namespace

TEST_CASE("sparse similarity is each pair's sorted merge, bit for bit") {
    // few indices, so that many rows share each one; zeros, negative values,
    // empty rows and rows that hold every index
    std::mt19937 rng(29);
    for (int round = 0; round < 40; ++round) {
        SparseRows rows;
        rows.dimension = 1u << (4 + rng() % 6);
        const auto n = static_cast<std::uint32_t>(1 + rng() % 90);
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint32_t pick = rng() % 8;
            for (std::uint32_t k = 0; k < rows.dimension; ++k) {
                if (pick != 7 && rng() % 8 > pick) continue;
                rows.indices.push_back(k);
                const float v = rng() % 10 == 0 ? 0.f : std::uniform_real_distribution<float>(-3.f, 3.f)(rng);
                rows.values.push_back(v);
            }
            rows.row_offsets.push_back(rows.indices.size());
        }
        require_bits(g_candidate->similarity(rows), sorted_merge_similarity(rows));
    }
    // the TF-IDF rows of real panels
    const auto panels = coe::test::mtbench_panel_texts();
    for (std::size_t p = 0; p < panels.size(); p += 7) {
        const SparseRows rows = g_candidate->featurize(views(panels[p]));
        require_bits(g_candidate->similarity(rows), sorted_merge_similarity(rows));
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

void require_same_report(const Report &a, const Report &b, double tol = 1e-5) {
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

// Calls a plugin's operation; fails the test with the plugin's message.
void invoke_or_fail(const coe_operation *op, void *args) {
    char message[256] = {};
    coe_call call{sizeof call, sizeof message, message};
    REQUIRE_MESSAGE(op->invoke(args, &call) == COE_OK, message);
}

SparseRows call_featurize(const coe_operation *op, const std::vector<std::string> &texts, std::uint32_t flags,
                          std::uint32_t bits) {
    return coe::test::featurize_rows(texts, flags, bits, [&](coe_featurize_args &a) { invoke_or_fail(op, &a); });
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

namespace {

Matrix call_dense_similarity(const coe_operation *op, const std::vector<float> &v, std::uint32_t n, std::uint64_t d) {
    Matrix m;
    m.rows = m.cols = n;
    m.data.assign(static_cast<std::size_t>(n) * n, -7.f);
    coe_similarity_args a{};
    a.struct_size = sizeof a;
    a.kind = COE_VECTORS_DENSE;
    a.count = n;
    a.dense = v.data();
    a.dimension = d;
    a.dense_stride = d;
    a.out = m.data.data();
    a.out_stride = n;
    invoke_or_fail(op, &a);
    return m;
}

}  // namespace

TEST_CASE("both similarity revisions of the plugin file: /1 within 1e-5 of the scalar plugin's, /2 bit for bit") {
    std::mt19937 rng(17);
    const coe_operation *v1 = plugin_operation(g_backend, COE_OP_SIMILARITY, 1),
                        *v2 = plugin_operation(g_backend, COE_OP_SIMILARITY, 2),
                        *ref1 = plugin_operation("scalar", COE_OP_SIMILARITY, 1),
                        *ref2 = plugin_operation("scalar", COE_OP_SIMILARITY, 2);
    for (std::uint32_t n : {1u, 5u, 13u, 31u})
        for (std::uint64_t d : {1ull, 17ull, 100ull, 1024ull}) {
            CAPTURE(n);
            CAPTURE(d);
            const std::vector<float> v = random_rows(rng, n, d);
            require_close(call_dense_similarity(v1, v, n, d), call_dense_similarity(ref1, v, n, d));
            require_bits(call_dense_similarity(v2, v, n, d), call_dense_similarity(ref2, v, n, d));
            require_bits(call_dense_similarity(v2, v, n, d), header_similarity(v, n, d));
        }
}

namespace {

struct ConsensusCall {
    std::vector<float> centrality, robust_z, share, cohesion;
    std::vector<std::uint8_t> outlier;
    std::vector<std::uint32_t> representative;
    coe_consensus_args args{};
};

ConsensusCall call_consensus(const coe_operation *op, const Matrix &s, const std::vector<std::uint32_t> &labels,
                             std::uint32_t k, const std::vector<float> &weights) {
    ConsensusCall c;
    const std::uint32_t n = s.rows;
    c.centrality.assign(n, 0);
    c.robust_z.assign(n, 0);
    c.outlier.assign(n, 0);
    c.share.assign(k, 0);
    c.cohesion.assign(k, 0);
    c.representative.assign(k, 0);
    coe_consensus_args &a = c.args;
    a.struct_size = sizeof a;
    a.count = n;
    a.similarity = s.data.data();
    a.similarity_stride = s.cols;
    a.weights = weights.data();
    a.labels = labels.data();
    a.cluster_count = k;
    a.outlier_z = 3.5f;
    a.prior_weight = 1.f;
    a.centrality = c.centrality.data();
    a.robust_z = c.robust_z.data();
    a.outlier = c.outlier.data();
    a.cluster_share = c.share.data();
    a.cluster_cohesion = c.cohesion.data();
    a.cluster_representative = c.representative.data();
    invoke_or_fail(op, &a);
    return c;
}

}  // namespace

TEST_CASE(
    "the consensus revisions of the plugin file: the scalar plugin's results; /2 and /3 represent by centrality") {
    std::mt19937 rng(23);
    const auto panels = coe::test::mtbench_panel_texts();
    const coe_operation *v1 = plugin_operation(g_backend, COE_OP_CONSENSUS, 1),
                        *v2 = plugin_operation(g_backend, COE_OP_CONSENSUS, 2),
                        *ref1 = plugin_operation("scalar", COE_OP_CONSENSUS, 1),
                        *ref2 = plugin_operation("scalar", COE_OP_CONSENSUS, 2),
                        *v3 = plugin_operation(g_backend, COE_OP_CONSENSUS, 3),
                        *ref3 = plugin_operation("scalar", COE_OP_CONSENSUS, 3);
    for (std::size_t p = 0; p < panels.size(); p += 9) {
        CAPTURE(p);
        const Matrix s = g_reference->similarity(g_reference->featurize(views(panels[p])));
        const auto n = s.rows;
        // a random clustering, numbered by first member
        const std::uint32_t want = 1 + static_cast<std::uint32_t>(rng() % 4);
        std::vector<std::uint32_t> labels(n), renumber(want, UINT32_MAX);
        std::uint32_t k = 0;
        for (auto &l : labels) {
            const auto raw = static_cast<std::uint32_t>(rng() % want);
            if (renumber[raw] == UINT32_MAX) renumber[raw] = k++;
            l = renumber[raw];
        }
        std::vector<float> weights(n);
        for (auto &w : weights) w = std::uniform_real_distribution<float>(0.1f, 1.f)(rng);
        const ConsensusCall a1 = call_consensus(v1, s, labels, k, weights),
                            b1 = call_consensus(ref1, s, labels, k, weights);
        const ConsensusCall a2 = call_consensus(v2, s, labels, k, weights),
                            b2 = call_consensus(ref2, s, labels, k, weights);
        const ConsensusCall a3 = call_consensus(v3, s, labels, k, weights),
                            b3 = call_consensus(ref3, s, labels, k, weights);
        for (const auto *pair : {&a1, &a2, &a3}) {
            const ConsensusCall &ref = pair == &a1 ? b1 : pair == &a2 ? b2 : b3;
            CHECK(pair->centrality == ref.centrality);
            CHECK(pair->robust_z == ref.robust_z);
            CHECK(pair->representative == ref.representative);
            CHECK(pair->share == ref.share);
            CHECK(pair->cohesion == ref.cohesion);
            CHECK(pair->args.medoid == ref.args.medoid);
            CHECK(pair->args.mean_agreement == ref.args.mean_agreement);
            CHECK(pair->args.entropy == ref.args.entropy);
        }
        // /3 is /2 with exact sums: the same discrete results, numbers within
        // the rounding of a sum
        CHECK(a3.representative == a2.representative);
        CHECK(a3.args.medoid == a2.args.medoid);
        CHECK(a3.outlier == a2.outlier);
        for (std::uint32_t i = 0; i < n; ++i)
            CHECK(a3.centrality[i] == doctest::Approx(a2.centrality[i]).epsilon(1e-6));
        // the revisions differ only in the representative, and /2's is the
        // member with the highest centrality (lowest index on ties)
        CHECK(a1.centrality == a2.centrality);
        CHECK(a1.cohesion == a2.cohesion);
        CHECK(a1.args.confidence == a2.args.confidence);
        for (std::uint32_t c = 0; c < k; ++c) {
            std::uint32_t best = n;
            for (std::uint32_t i = 0; i < n; ++i)
                if (labels[i] == c && (best == n || a2.centrality[i] > a2.centrality[best])) best = i;
            CHECK(a2.representative[c] == best);
        }
    }
}

TEST_CASE("both aggregate revisions of the plugin file equal the scalar plugin's, bit for bit") {
    std::mt19937 rng(29);
    const auto panels = coe::test::mtbench_panel_texts();
    for (std::uint32_t revision : {1u, 2u}) {
        const coe_operation *op = plugin_operation(g_backend, COE_OP_AGGREGATE, revision),
                            *ref = plugin_operation("scalar", COE_OP_AGGREGATE, revision);
        for (std::size_t p = 0; p < panels.size(); p += 11) {
            CAPTURE(revision);
            CAPTURE(p);
            // the panel's answers stand in for items, stated by random experts in random groups
            const Matrix s = g_reference->similarity(g_reference->featurize(views(panels[p])));
            const std::uint32_t m = s.rows, experts = 1 + m / 3, g = 1 + m / 5;
            std::vector<std::uint32_t> group(m), owner(m);
            for (std::uint32_t i = 0; i < m; ++i) {
                group[i] = i < g ? i : static_cast<std::uint32_t>(rng() % g);
                owner[i] = static_cast<std::uint32_t>(rng() % experts);
            }
            std::vector<float> weights(experts);
            for (auto &w : weights) w = std::uniform_real_distribution<float>(0.1f, 1.f)(rng);
            auto call = [&](const coe_operation *o) {
                std::vector<std::uint32_t> supporters(g), representative(g), ranking(g);
                std::vector<float> support(g), confidence(g);
                std::vector<std::uint8_t> consensus(g);
                coe_aggregate_args a{};
                a.struct_size = sizeof a;
                a.item_count = m;
                a.expert_count = experts;
                a.group_count = g;
                a.item_group = group.data();
                a.item_expert = owner.data();
                a.similarity = s.data.data();
                a.similarity_stride = s.cols;
                a.expert_weights = weights.data();
                a.quorum = 2;
                a.prior_weight = 1.f;
                a.supporters = supporters.data();
                a.support = support.data();
                a.confidence = confidence.data();
                a.representative = representative.data();
                a.consensus = consensus.data();
                a.ranking = ranking.data();
                invoke_or_fail(o, &a);
                return std::make_tuple(supporters, representative, ranking, support, confidence, consensus);
            };
            CHECK(call(op) == call(ref));
        }
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
        // dense similarity is bit-identical (coe.similarity/2), so is the rest
        require_same_report(g_candidate->analyze(p.view()), g_reference->analyze(p.view()), 0.0);
    }
}

// ------------------------------------------------------- coe.embed_words/1

namespace {

using coe::detail::build_word_table;
using coe::detail::WordTableData;

bool is_token_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// The tokens of a text as coe/ops/embed_words.h words them: maximal runs of
// ASCII letters, ASCII digits and bytes >= 0x80, letters folded to lower
// case, at least two bytes long.
std::vector<std::string> header_tokens(std::string_view text) {
    std::vector<std::string> tokens;
    std::string token;
    auto finish = [&] {
        if (token.size() >= 2) tokens.push_back(token);
        token.clear();
    };
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (!is_token_byte(c)) finish();
        else token += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : ch;
    }
    finish();
    return tokens;
}

struct Embedded {
    coe_status status = COE_OK;
    std::string message;
    std::vector<float> vectors;  // text_count rows of vector_stride floats
    std::vector<std::uint32_t> known;
};

// coe.embed_words/1 written straight from the header, in plain loops: each
// token found (find_word) adds weight * widened value lane by lane, a float
// product then a float sum; the norm is summed in double in lane order.
Embedded header_reference(const std::vector<std::string> &texts, const coe_word_table &table) {
    const std::uint32_t dims = table.dims;
    Embedded e;
    e.vectors.assign(texts.size() * dims, 0.f);
    e.known.assign(texts.size(), 0);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        std::vector<float> acc(dims, 0.f);
        for (const std::string &token : header_tokens(texts[i])) {
            const std::int64_t r = coe::detail::find_word(table, token);
            if (r < 0) continue;
            ++e.known[i];
            for (std::uint32_t d = 0; d < dims; ++d) {
                const float value = coe::detail::half_to_float(table.values[static_cast<std::size_t>(r) * dims + d]);
                const float product = table.weights[r] * value;
                acc[d] = acc[d] + product;
            }
        }
        double sum = 0.0;
        for (std::uint32_t d = 0; d < dims; ++d) {
            const double square = static_cast<double>(acc[d]) * static_cast<double>(acc[d]);
            sum = sum + square;
        }
        const double norm = std::sqrt(sum);
        for (std::uint32_t d = 0; d < dims; ++d)
            e.vectors[i * dims + d] = norm == 0.0 ? 0.f : static_cast<float>(static_cast<double>(acc[d]) / norm);
    }
    return e;
}

constexpr float padding_sentinel = -12345.5f;  // lanes between rows: never written

// Calls a plugin's coe.embed_words/1 directly; rows of `stride` floats
// (0: dims), the lanes past dims preset to padding_sentinel.
Embedded call_embed_words(const coe_operation *op, const std::vector<std::string> &texts, const coe_word_table &table,
                          std::uint64_t stride = 0, bool count_known = true) {
    if (stride == 0) stride = table.dims;
    std::vector<const char *> ptrs;
    std::vector<std::uint64_t> lengths;
    for (const auto &t : texts) {
        ptrs.push_back(t.data());
        lengths.push_back(t.size());
    }
    Embedded e;
    e.vectors.assign(texts.size() * std::max<std::uint64_t>(stride, 1), padding_sentinel);
    e.known.assign(texts.size(), 7777);
    coe_embed_words_args a = coe::test::embed_words_args(texts.size(), ptrs.data(), lengths.data(), table, stride,
                                                         e.vectors.data(), count_known ? e.known.data() : nullptr);
    char message[512] = {};
    coe_call call{sizeof call, sizeof message, message};
    e.status = op->invoke(&a, &call);
    e.message = message;
    return e;
}

void require_bits_equal(const std::vector<float> &a, const std::vector<float> &b) {
    REQUIRE(a.size() == b.size());
    std::size_t differ = 0, first = a.size();
    for (std::size_t k = 0; k < a.size(); ++k)
        if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0) {
            ++differ;
            first = std::min(first, k);
        }
    CHECK_MESSAGE(differ == 0,
                  differ << " floats differ, the first at " << first << ": " << a[first] << " vs " << b[first]);
}

const coe_operation *candidate_embed_words() { return plugin_operation(g_backend, COE_OP_EMBED_WORDS, 1); }
const coe_operation *scalar_embed_words() { return plugin_operation("scalar", COE_OP_EMBED_WORDS, 1); }

// The candidate plugin, the scalar plugin, the header's reference and both
// engines: the same bits.  Rows at `stride` (0: dims) in the plugin calls.
void require_embeddings_identical(const std::vector<std::string> &texts, const coe_word_table &table,
                                  std::uint64_t stride = 0) {
    const Embedded got = call_embed_words(candidate_embed_words(), texts, table, stride);
    const Embedded scalar = call_embed_words(scalar_embed_words(), texts, table, stride);
    REQUIRE_MESSAGE(got.status == COE_OK, got.message);
    REQUIRE_MESSAGE(scalar.status == COE_OK, scalar.message);
    require_bits_equal(got.vectors, scalar.vectors);
    CHECK(got.known == scalar.known);

    const Embedded want = header_reference(texts, table);
    CHECK(got.known == want.known);
    const std::uint64_t step = stride == 0 ? table.dims : stride;
    std::vector<float> packed;  // the plugin's rows without their padding
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto row = got.vectors.begin() + static_cast<std::ptrdiff_t>(i * step);
        packed.insert(packed.end(), row, row + table.dims);
        for (std::uint64_t d = table.dims; d < step; ++d)
            CHECK(got.vectors[i * step + d] == padding_sentinel);  // lanes past dims untouched
    }
    require_bits_equal(packed, want.vectors);

    const std::vector<std::string_view> v = views(texts);
    const WordEmbeddings engine = g_candidate->embed_words(v, table), floor = g_reference->embed_words(v, table);
    CHECK(engine.dims == table.dims);
    require_bits_equal(engine.vectors, want.vectors);
    require_bits_equal(floor.vectors, want.vectors);
    CHECK(engine.known_words == want.known);
    CHECK(floor.known_words == want.known);
}

// Vectors across binary16's range: normal, subnormal, zero of either sign,
// large; weights from 0 up.
WordTableData random_table(const std::vector<std::string> &words, std::uint32_t dims, std::mt19937 &rng) {
    std::normal_distribution<float> normal;
    std::vector<float> vectors(words.size() * dims);
    for (auto &x : vectors) {
        switch (rng() % 10) {
        case 0: x = normal(rng) * 2e-6f; break;   // subnormal halves
        case 1: x = normal(rng) * 3000.f; break;  // large ones
        case 2: x = (rng() % 2) ? 0.f : -0.f; break;
        default: x = normal(rng);
        }
    }
    WordTableData t = build_word_table(words, vectors, dims);
    std::uniform_real_distribution<float> weight(0.001f, 40.f);
    for (auto &w : t.weights) w = (rng() % 10 == 0) ? 0.f : weight(rng);
    return t;
}

// Words of every shape a token takes: ASCII, digits, UTF-8 (valid or not),
// lengths 2 to 64 (one, two and more 8-byte blocks), and random ones.
std::vector<std::string> vocabulary(std::mt19937 &rng, std::size_t random_words) {
    std::vector<std::string> words = {"ab",
                                      "the",
                                      "alpha",
                                      "consensus",
                                      "expert",
                                      "42",
                                      "1st",
                                      "3d",
                                      "caf\xc3\xa9",
                                      "na\xc3\xafve",
                                      "\xe6\x97\xa5\xe6\x9c\xac",
                                      "\xf0\x9f\x98\x80",
                                      "\xff\xfe",
                                      "\x80\x80\x80",
                                      "\xc3\xc3",
                                      "\xed\xa0\x80",
                                      "abcdefgh",
                                      "abcdefghi",
                                      "abcdefghijklmnop",
                                      "abcdefghijklmnopq",
                                      "abcdefghijklmno",
                                      "internationalization",
                                      "pneumonoultramicroscopicsilicovolcanoconiosis",
                                      std::string(64, 'z'),
                                      std::string(24, 'q') + "\xc3\xa9",
                                      "x1y2z3"};
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::set<std::string> seen(words.begin(), words.end());
    while (words.size() < random_words + 26) {
        std::string w;
        const std::size_t n = 2 + rng() % (rng() % 4 == 0 ? 30 : 9);
        for (std::size_t k = 0; k < n; ++k)
            w += (rng() % 17 == 0) ? static_cast<char>(0x80 + rng() % 128) : alphabet[rng() % 36];
        if (seen.insert(w).second) words.push_back(w);
    }
    return words;
}

// Texts of known words (some in upper case), unknown words, prefixes and
// extensions of known words, one-byte tokens, and separators of every kind.
std::string random_text(std::mt19937 &rng, const std::vector<std::string> &words, std::size_t tokens) {
    static const char *seps[] = {" ",  "  ", ", ", ". ",   "\n",   "\t", "!", " - ", "**",  "(",
                                 ") ", "_",  "'",  "\x00", "\x7f", "~",  "/", "@",   "\r\n"};
    std::string t;
    for (std::size_t k = 0; k < tokens; ++k) {
        std::string w = words[rng() % words.size()];
        switch (rng() % 12) {
        case 0: w += "zz"; break;                      // not in the table
        case 1: w = w.substr(0, w.size() - 1); break;  // a prefix (or a one-byte token)
        case 2:
            for (auto &c : w)
                if (c >= 'a' && c <= 'z' && rng() % 2) c = static_cast<char>(c - ('a' - 'A'));
            break;
        default: break;
        }
        t += w;
        const char *sep = seps[rng() % (sizeof seps / sizeof *seps)];
        t.append(sep, *sep ? std::strlen(sep) : 1);  // "\x00" is one NUL byte
    }
    return t;
}

// The table with its words re-placed in `slot_count` slots (fewer: longer
// probes), as the builder places them: home slot splitmix64(h), then
// linear probing.
WordTableData with_slot_count(WordTableData t, std::uint32_t slot_count) {
    auto splitmix64 = [](std::uint64_t x) {
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        return x ^ (x >> 31);
    };
    t.slots.assign(2 * static_cast<std::size_t>(slot_count), 0);
    for (std::uint32_t r = 0; r < t.word_count(); ++r) {
        const std::string_view word(t.words.data() + t.word_offsets[r], t.word_offsets[r + 1] - t.word_offsets[r]);
        const std::uint64_t h = coe::detail::word_hash(word);
        std::uint32_t s = static_cast<std::uint32_t>(splitmix64(h)) & (slot_count - 1);
        while (t.slots[2 * s] != 0) s = (s + 1) & (slot_count - 1);
        t.slots[2 * s] = r + 1;
        t.slots[2 * s + 1] = static_cast<std::uint32_t>(h >> 32);
    }
    return t;
}

// Two different words whose hashes share their high 32 bits (the slots'
// tag): only their bytes tell them apart.
std::pair<std::string, std::string> words_with_the_same_tag() {
    std::mt19937 rng(99);
    std::unordered_map<std::uint32_t, std::string> by_tag;
    for (;;) {
        std::string w;
        for (int k = 0; k < 9; ++k) w += static_cast<char>('a' + rng() % 26);
        const auto tag = static_cast<std::uint32_t>(coe::detail::word_hash(w) >> 32);
        auto [it, inserted] = by_tag.emplace(tag, w);
        if (!inserted && it->second != w) return {it->second, w};
    }
}

}  // namespace

TEST_CASE("embed_words: every backend gives the scalar reference's bits on random texts, for every dims") {
    std::mt19937 rng(2024);
    const std::vector<std::string> words = vocabulary(rng, 400);
    for (std::uint32_t dims : {1u, 7u, 8u, 15u, 16u, 17u, 31u, 100u, 300u, 4096u}) {
        CAPTURE(dims);
        const WordTableData table = random_table(words, dims, rng);
        std::vector<std::string> texts;
        const std::size_t count = dims == 4096 ? 6 : 40;
        for (std::size_t i = 0; i < count; ++i) texts.push_back(random_text(rng, words, rng() % 150));
        require_embeddings_identical(texts, table.view());
    }
}

TEST_CASE("embed_words: rows at a vector_stride above dims; known_words may be NULL") {
    std::mt19937 rng(5);
    const std::vector<std::string> words = vocabulary(rng, 100);
    for (std::uint32_t dims : {1u, 7u, 100u}) {
        const WordTableData table = random_table(words, dims, rng);
        std::vector<std::string> texts;
        for (int i = 0; i < 9; ++i) texts.push_back(random_text(rng, words, 30));
        for (std::uint64_t stride : {dims + 1u, dims + 3u, 2u * dims + 16u}) {
            CAPTURE(dims);
            CAPTURE(stride);
            require_embeddings_identical(texts, table.view(), stride);
        }
        const Embedded without = call_embed_words(candidate_embed_words(), texts, table.view(), 0, false);
        REQUIRE(without.status == COE_OK);
        CHECK(std::all_of(without.known.begin(), without.known.end(), [](std::uint32_t k) { return k == 7777; }));
        require_bits_equal(without.vectors, header_reference(texts, table.view()).vectors);
    }
}

TEST_CASE("embed_words: adversarial texts") {
    std::mt19937 rng(77);
    std::vector<std::string> words = vocabulary(rng, 200);
    words.push_back("dropped");  // weight 0 below
    words.push_back("also0");
    WordTableData table = random_table(words, 100, rng);
    table.weights[words.size() - 2] = 0.f;
    table.weights[words.size() - 1] = 0.f;
    table.weights[0] = 1.f;  // "ab"

    std::string invalid_utf8;  // every byte value, lone continuations, overlongs, surrogates, truncations
    for (int c = 0; c < 256; ++c) invalid_utf8 += static_cast<char>(c);
    invalid_utf8 += " \xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xc3 \xe6\x97 \x80\xbf abcdefghi\xff";
    std::string megabyte;
    while (megabyte.size() < (1u << 20)) megabyte += random_text(rng, words, 64);
    std::string repeated;
    for (int k = 0; k < 100000; ++k) repeated += (k % 3 == 0) ? "Consensus " : "consensus, ";
    const std::vector<std::string> texts = {
        "",
        " \t\n.,;!?",
        "a b c d e f",                                                    // one-byte tokens only
        "zzqx unknownword nothingfound 1234567 " + std::string(50, 'Q'),  // no known word
        "dropped ALSO0 Dropped, dropped!",                                // only weight-0 words: a zero row, 4 known
        "dropped ab dropped",                                             // one word of weight 1 among them
        repeated,                                                         // one token 100k times
        megabyte,                                                         // 1 MiB
        invalid_utf8,
        "caf\xc3\xa9 CAF\xc3\xa9 Caf\xc3\x89 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80 \xff\xfe",
        "abcdefgh abcdefghi abcdefghijklmnop abcdefghijklmnopq ABCDEFGHIJKLMNO abcdefghijklmnopqr",
        "internationalization Pneumonoultramicroscopicsilicovolcanoconiosis " + std::string(64, 'Z') + " " +
            std::string(65, 'z'),
        std::string(1, '\0') + "ab" + std::string(1, '\0') + "the",
        "ab",  // the whole text is one token, ending at the text's end
    };
    require_embeddings_identical(texts, table.view());

    const Embedded got = call_embed_words(candidate_embed_words(), texts, table.view());
    auto row_is_zero = [&](std::size_t i) {
        return std::all_of(got.vectors.begin() + static_cast<std::ptrdiff_t>(i * 100),
                           got.vectors.begin() + static_cast<std::ptrdiff_t>(i * 100 + 100),
                           [](float x) { return x == 0.f && !std::signbit(x); });
    };
    for (std::size_t i : {0u, 1u, 2u, 3u}) {
        CHECK(row_is_zero(i));
        CHECK(got.known[i] == 0);
    }
    CHECK(row_is_zero(4));  // only weight-0 words: found and counted, and a zero row
    CHECK(got.known[4] == 4);
    CHECK_FALSE(row_is_zero(5));
    CHECK(got.known[5] == 3);
    CHECK(got.known[6] == 100000);
    CHECK(got.known[13] == 1);
}

// A table's values_id (ABI 1.6) lets a plugin keep the values between calls
// (the Vulkan backend keeps them in device memory); the results never
// depend on it, nor on whether the table has the field at all.
TEST_CASE("embed_words: the same bits with or without values_id, tables alternating, and from a 1.3 table") {
    std::mt19937 rng(31);
    const std::vector<std::string> words = vocabulary(rng, 300);
    WordTableData first = random_table(words, 100, rng), second = random_table(words, 100, rng);
    WordTableData narrow = random_table(words, 7, rng);
    REQUIRE(words[0] == "ab");
    first.weights[0] = second.weights[0] = narrow.weights[0] = 1.5f;
    std::vector<std::string> texts;
    for (int k = 0; k < 20; ++k) texts.push_back(random_text(rng, words, 1 + k * 7));
    std::string many;  // more than 2^16 weighted tokens of one word
    for (int k = 0; k < 140000; ++k) many += "ab ";
    texts.push_back(many);
    auto named = [](const WordTableData &t, std::uint64_t id) {
        coe_word_table v = t.view();
        v.values_id = id;
        return v;
    };
    // the same id named again, another id, back to the first, another
    // shape under the first table's id: each the scalar reference's bits
    for (const coe_word_table &t : {named(first, 11), named(first, 11), named(second, 12), named(first, 11),
                                    named(narrow, 11), first.view(), named(second, 12)}) {
        CAPTURE(t.values_id);
        CAPTURE(t.dims);
        require_embeddings_identical(texts, t);
    }
    coe_word_table old = first.view();  // a table from a host before ABI 1.6: no values_id
    old.struct_size = COE_WORD_TABLE_SIZE_1_3;
    old.values_id = 99;  // past its struct_size: never read
    const Embedded got = call_embed_words(candidate_embed_words(), texts, old);
    REQUIRE_MESSAGE(got.status == COE_OK, got.message);
    require_bits_equal(got.vectors, call_embed_words(scalar_embed_words(), texts, first.view()).vectors);
}

TEST_CASE("embed_words: words at collisions, in a table with one free slot") {
    const auto [first, second] = words_with_the_same_tag();
    REQUIRE(first != second);
    CHECK((coe::detail::word_hash(first) >> 32) == (coe::detail::word_hash(second) >> 32));
    std::mt19937 rng(8);
    std::vector<std::string> words = {
        first,  "ab",  "abc", "abcd", "ba", "cab", "zz", "zy", "zx", "q1", "q2", "q3", "abcdefghijklmnopq",
        second, "last"};
    WordTableData roomy = random_table(words, 16, rng);
    roomy.weights[0] = roomy.weights[13] = 1.f;              // the two words of one tag: rows that are not zero
    const WordTableData tight = with_slot_count(roomy, 16);  // 15 words in 16 slots: long probe chains
    for (const WordTableData *t : {static_cast<const WordTableData *>(&roomy), &tight}) {
        const coe_word_table view = t->view();
        for (std::size_t r = 0; r < words.size(); ++r) CHECK(coe::detail::find_word(view, words[r]) == std::int64_t(r));
        std::vector<std::string> texts;
        for (const auto &w : words) texts.push_back(w);  // one word per text: each must find its own row
        for (int i = 0; i < 20; ++i) texts.push_back(random_text(rng, words, 40));
        texts.push_back(first + " " + second + " " + first.substr(0, 8) + " " + second + "x");
        require_embeddings_identical(texts, view);
        const Embedded one = call_embed_words(candidate_embed_words(), {first, second}, view);
        CHECK(one.known == std::vector<std::uint32_t>{1, 1});
        CHECK(std::memcmp(one.vectors.data(), one.vectors.data() + 16, 16 * sizeof(float)) != 0);
    }
}

TEST_CASE("embed_words on the MT-Bench panels with a table of most of their words") {
    const auto panels = coe::test::mtbench_panel_texts();
    REQUIRE(panels.size() == 80);
    std::set<std::string> distinct;
    for (const auto &panel : panels)
        for (const auto &text : panel)
            for (auto &token : header_tokens(text)) distinct.insert(std::move(token));
    std::mt19937 rng(1234);
    std::vector<std::string> words;
    for (const auto &w : distinct)
        if (rng() % 10 != 0) words.push_back(w);  // about 90 % of them
    REQUIRE(words.size() > 5000);
    const WordTableData table = random_table(words, 100, rng);
    for (const auto &panel : panels) require_embeddings_identical(panel, table.view());
}

TEST_CASE("embed_words widens every binary16 value as the scalar reference does (F16C against integer code)") {
    // one word per half value h, its vector (h, 1): text i holds word i alone,
    // so row i is (h, 1) / |(h, 1)|, which tells every widened value apart
    std::vector<std::string> words, texts;
    std::vector<float> vectors;
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00u) == 0x7c00u) continue;  // infinities and NaNs: the builder takes finite values only
        words.push_back("h" + std::to_string(h));
        vectors.push_back(coe::detail::half_to_float(static_cast<std::uint16_t>(h)));
        vectors.push_back(1.f);
    }
    WordTableData table = build_word_table(words, vectors, 2);
    for (std::size_t r = 0; r < words.size(); ++r)
        REQUIRE(coe::detail::half_to_float(table.values[2 * r]) == vectors[2 * r]);  // stored exactly
    // and the infinities and NaNs, set in the table directly: no reference, but every backend the same bits
    for (std::uint32_t h = 0x7c00; h < 0x10000; h = (h == 0x7fff) ? 0xfc00 : h + 1) {
        words.push_back("h" + std::to_string(h));
        vectors.push_back(1.f);
        vectors.push_back(1.f);
    }
    table = build_word_table(words, vectors, 2);
    for (std::size_t r = 0; r < words.size(); ++r) {
        const std::uint32_t h = static_cast<std::uint32_t>(std::stoul(words[r].substr(1)));
        table.values[2 * r] = static_cast<std::uint16_t>(h);
    }
    texts = words;
    const Embedded got = call_embed_words(candidate_embed_words(), texts, table.view());
    const Embedded scalar = call_embed_words(scalar_embed_words(), texts, table.view());
    REQUIRE(got.status == COE_OK);
    REQUIRE(scalar.status == COE_OK);
    require_bits_equal(got.vectors, scalar.vectors);
    const std::size_t finite = 0x10000 - 2 * 0x400;
    std::vector<std::string> finite_texts(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(finite));
    std::vector<float> finite_rows(got.vectors.begin(), got.vectors.begin() + static_cast<std::ptrdiff_t>(2 * finite));
    require_bits_equal(finite_rows, header_reference(finite_texts, table.view()).vectors);
    // the same table named by a values_id (a plugin may keep it between calls)
    coe_word_table named = table.view();
    named.values_id = 0x5eed;
    const Embedded kept = call_embed_words(candidate_embed_words(), texts, named);
    REQUIRE(kept.status == COE_OK);
    require_bits_equal(kept.vectors, scalar.vectors);
}

TEST_CASE("embed_words refuses invalid arguments with COE_ERR_INVALID_ARGUMENT and a message") {
    std::mt19937 rng(3);
    const std::vector<std::string> words = vocabulary(rng, 50);
    const WordTableData good = random_table(words, 8, rng);
    const std::vector<std::string> texts = {words[3] + " " + words[7] + " " + words[30], "unknown words"};
    auto refused = [&](const coe_word_table &table, const std::string &why, std::uint64_t stride = 8) {
        CAPTURE(why);
        for (const coe_operation *op : {candidate_embed_words(), scalar_embed_words()}) {
            const Embedded e = call_embed_words(op, texts, table, stride);
            CHECK(e.status == COE_ERR_INVALID_ARGUMENT);
            CHECK_MESSAGE(e.message.find(why) != std::string::npos, e.message);
        }
    };
    coe_word_table t = good.view();
    t.dims = 0;
    refused(t, "dims 0 is outside 1..4096");
    t.dims = 4097;
    refused(t, "dims 4097 is outside 1..4096", 4097);
    t = good.view();
    t.slot_count = good.slot_count() - 1;
    refused(t, "not a power of two");
    t.slot_count = 0;
    refused(t, "not a power of two");
    t = good.view();
    t.word_count = t.slot_count;  // no slot count above word_count
    refused(t, "not a power of two above word_count");
    t = good.view();
    refused(t, "vector_stride 7 is smaller than dims 8", 7);
    t.struct_size = COE_WORD_TABLE_SIZE_1_3 - 8;
    refused(t, "struct_size");
    t = good.view();
    t.slots = nullptr;
    refused(t, "is null");

    // a probe that meets a slot naming a row >= word_count
    WordTableData corrupt = good;
    for (std::size_t s = 0; s < corrupt.slot_count(); ++s)
        if (corrupt.slots[2 * s] != 0) corrupt.slots[2 * s] = corrupt.word_count() + 1;
    refused(corrupt.view(), "names row " + std::to_string(corrupt.word_count()) + " >= word_count");
    // a table without a free slot (the header forbids it): refused, not a probe for ever
    WordTableData full = good;
    for (std::size_t s = 0; s < full.slot_count(); ++s)
        if (full.slots[2 * s] == 0) full.slots[2 * s] = 1;  // row 0, tag 0
    refused(full.view(), "no free slot");

    // through the engine: coe::Error, the table named
    t = good.view();
    t.dims = 0;
    CHECK_THROWS_WITH_AS(g_candidate->embed_words(views(texts), t), doctest::Contains("outside 1..4096"), coe::Error);
    t = good.view();
    t.slot_count = 3;
    CHECK_THROWS_WITH_AS(g_candidate->embed_words(views(texts), t), doctest::Contains("not a power of two"),
                         coe::Error);
    CHECK_THROWS_WITH_AS(g_candidate->embed_words(views(texts), corrupt.view()), doctest::Contains(">= word_count"),
                         coe::Error);

    // no texts: nothing to do, yet the table is still checked
    const Embedded none = call_embed_words(candidate_embed_words(), {}, good.view());
    CHECK(none.status == COE_OK);
    CHECK(g_candidate->embed_words({}, good.view()).vectors.empty());
}

TEST_CASE("embed_words through the engine is served by the candidate itself, every call shadow-checked") {
    EngineOptions o = coe::test::isolated_options({coe::test::backend_plugin_dir()}, g_backend);
    o.resilience.shadow_rate = 1.0;
    Engine engine(o);
    std::mt19937 rng(41);
    const std::vector<std::string> words = vocabulary(rng, 300);
    const WordTableData table = random_table(words, 100, rng);
    const auto panels = coe::test::mtbench_panel_texts();
    for (std::size_t p = 0; p < 10; ++p) {
        std::vector<std::string> texts = panels[p];
        for (int i = 0; i < 5; ++i) texts.push_back(random_text(rng, words, 200));
        const WordEmbeddings a = engine.embed_words(views(texts), table.view());
        require_bits_equal(a.vectors, g_reference->embed_words(views(texts), table.view()).vectors);
    }
    if (g_backend == "scalar") return;  // the built-in floor serves for the scalar plugin file
    CHECK(engine.backend_for(COE_OP_EMBED_WORDS) == g_backend);
    const auto doc = boost::json::parse(engine.performance_report());
    bool seen = false;
    for (const auto &op : doc.at("operations").as_array())
        if (op.at("backend") == g_backend.c_str() && op.at("operation") == COE_OP_EMBED_WORDS) {
            seen = true;
            CHECK(op.at("successes").as_int64() == 10);
            CHECK(op.at("failures").as_int64() == 0);  // shadow mismatches included
            CHECK(op.at("shadow").at("calls").as_int64() == 10);
        }
    CHECK(seen);
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
    // results are compared here, not speed: a backend slower than scalar (a
    // CPU-type Vulkan device) keeps serving every call
    all.resilience.breaker.slower_than_reference_calls = 0;
    g_candidate = std::make_unique<Engine>(all);
    g_reference = std::make_unique<Engine>(coe::test::isolated_options({}));
    std::cout << "comparing backend " << g_candidate->active_backend() << " against the built-in scalar reference\n";
    doctest::Context context(argc, argv);
    int rc = context.run();
    // every result above must have come from the candidate: a call it failed
    // (and the chain served from another backend) would hide a fault
    const boost::json::value perf = boost::json::parse(g_candidate->performance_report());
    for (const auto &op : perf.at("operations").as_array())
        if (op.at("backend").as_string() == g_candidate->active_backend() &&
            op.at("failures").to_number<double>() > 0) {
            std::cerr << "FAILED: " << g_candidate->active_backend() << " failed calls of "
                      << op.at("operation").as_string() << ": " << boost::json::serialize(op.at("failures_by_class"))
                      << "\n";
            rc = 1;
        }
    g_candidate.reset();
    g_reference.reset();
    return rc;
}
