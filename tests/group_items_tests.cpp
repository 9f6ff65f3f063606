// coe.group_items/1's kernel against the three operations it stands for: the
// sparse item graph equals thresholding the full similarity matrix, and the
// groups and their outputs equal coe.cluster/1 and coe.aggregate/2 of that
// matrix, bit for bit, on random, adversarial and MT-Bench items.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "featurize_kernel.hpp"
#include "group_items_kernel.hpp"
#include "test_support.hpp"

namespace k = coe::kernels;

namespace {

struct Rows {
    std::vector<std::uint64_t> offsets{0};
    std::vector<std::uint32_t> indices;
    std::vector<float> values;
    std::uint32_t bound = 1;

    std::uint32_t count() const { return static_cast<std::uint32_t>(offsets.size() - 1); }
    coe_similarity_args args(float *out = nullptr) const {
        coe_similarity_args a{};
        a.struct_size = sizeof a;
        a.kind = COE_VECTORS_SPARSE;
        a.count = count();
        a.row_offsets = offsets.data();
        a.indices = indices.data();
        a.values = values.data();
        a.index_bound = bound;
        a.out = out;
        a.out_stride = count();
        return a;
    }
};

// The shapes of rows a panel's items can take, and some it should not.
enum class Shape { random, one_shared_index, identical, with_empty_and_zero, negative, few_words };

Rows random_rows(std::mt19937 &rng, std::uint32_t n, Shape shape) {
    auto below = [&](std::uint32_t bound) { return static_cast<std::uint32_t>(rng() % bound); };
    Rows r;
    const std::uint32_t vocabulary = shape == Shape::few_words ? 6 : 40 + below(400);
    r.bound = vocabulary + below(3);
    std::set<std::uint32_t> first;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::set<std::uint32_t> row;
        const std::uint32_t length = shape == Shape::with_empty_and_zero && i % 3 == 0 ? 0 : below(12);
        for (std::uint32_t t = 0; t < length; ++t) row.insert(below(vocabulary));
        if (shape == Shape::one_shared_index) row.insert(vocabulary / 2);
        if (shape == Shape::identical) row = i == 0 ? (first = row) : first;
        for (std::uint32_t index : row) {
            float v = std::uniform_real_distribution<float>(0.01f, 1.f)(rng);
            if (shape == Shape::negative && below(3) == 0) v = -v;
            if (shape == Shape::with_empty_and_zero && i % 3 == 1) v = 0.f;  // a row of zeros: norm 0
            if (shape == Shape::identical) v = 0.5f;
            r.indices.push_back(index);
            r.values.push_back(v);
        }
        r.offsets.push_back(r.indices.size());
    }
    return r;
}

std::vector<float> full_matrix(const Rows &r) {
    std::vector<float> m(static_cast<std::size_t>(r.count()) * r.count(), 0.f);
    if (r.count() > 0) k::similarity_sparse(r.args(m.data()));
    return m;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The graph of `rows` against the thresholded full matrix.
void check_graph(const Rows &rows, float threshold) {
    const std::uint32_t n = rows.count();
    const std::vector<float> full = full_matrix(rows);
    k::ItemGraph g;
    k::build_item_graph(rows.args(), threshold, g);
    REQUIRE(g.pair_start.size() == n + std::size_t{1});
    std::vector<std::uint32_t> root(n);
    for (std::uint32_t i = 0; i < n; ++i) root[i] = i;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::vector<char> listed(n, 0);
        for (std::uint64_t p = g.pair_start[i]; p < g.pair_start[i + 1]; ++p) {
            const std::uint32_t j = g.pair_row[p];
            REQUIRE(j > i);
            REQUIRE(j < n);
            REQUIRE_FALSE(listed[j]);
            listed[j] = 1;
            CHECK(same_bits(g.pair_value[p], full[i * n + j]));
        }
        for (std::uint32_t j = i + 1; j < n; ++j) {
            if (!listed[j]) CHECK(same_bits(full[i * n + j], 0.f));  // a pair left out is a +0 of the matrix
            if (static_cast<double>(full[i * n + j]) >= threshold) {
                const std::uint32_t a = k::find_root(root, i), b = k::find_root(root, j);
                root[std::max(a, b)] = std::min(a, b);
            }
        }
    }
    for (std::uint32_t i = 0; i < n; ++i) CHECK(g.component[i] == k::find_root(root, i));
}

using Outputs =
    std::tuple<std::uint32_t, std::vector<std::uint32_t>, std::vector<std::uint32_t>, std::vector<std::uint32_t>,
               std::vector<std::uint32_t>, std::vector<float>, std::vector<float>, std::vector<std::uint8_t>>;

struct Experts {
    std::vector<std::uint32_t> of_item;
    std::vector<float> weights;
};

Experts random_experts(std::mt19937 &rng, std::uint32_t items) {
    Experts e;
    e.weights.resize(1 + rng() % 9);
    for (auto &w : e.weights) w = std::uniform_real_distribution<float>(0.1f, 2.f)(rng);
    for (std::uint32_t i = 0; i < items; ++i) e.of_item.push_back(static_cast<std::uint32_t>(rng() % e.weights.size()));
    return e;
}

// The three operations: similarity, cluster/1, aggregate/2.
Outputs by_matrix(const Rows &rows, float threshold, const Experts &e, std::uint32_t quorum) {
    const std::uint32_t n = rows.count();
    const std::vector<float> full = full_matrix(rows);
    std::vector<std::uint32_t> labels(n);
    coe_cluster_args c{};
    c.struct_size = sizeof c;
    c.count = n;
    c.similarity = full.data();
    c.similarity_stride = n;
    c.method = COE_CLUSTER_AVERAGE_LINKAGE;
    c.threshold = threshold;
    c.labels = labels.data();
    REQUIRE(k::cluster(c) == COE_OK);
    const std::uint32_t g = c.cluster_count;
    std::vector<std::uint32_t> supporters(g), representative(g), ranking(g);
    std::vector<float> support(g), confidence(g);
    std::vector<std::uint8_t> consensus(g);
    coe_aggregate_args a{};
    a.struct_size = sizeof a;
    a.item_count = n;
    a.expert_count = static_cast<std::uint32_t>(e.weights.size());
    a.group_count = g;
    a.item_group = labels.data();
    a.item_expert = e.of_item.data();
    a.similarity = full.data();
    a.similarity_stride = n;
    a.expert_weights = e.weights.data();
    a.quorum = quorum;
    a.prior_weight = 1.f;
    a.supporters = supporters.data();
    a.support = support.data();
    a.confidence = confidence.data();
    a.representative = representative.data();
    a.consensus = consensus.data();
    a.ranking = ranking.data();
    REQUIRE(k::aggregate<2>(a) == COE_OK);
    return {g, labels, supporters, representative, ranking, support, confidence, consensus};
}

coe_group_items_args group_args(const Rows &rows, float threshold, const Experts &e, std::uint32_t quorum) {
    coe_group_items_args a{};
    a.struct_size = sizeof a;
    a.item_count = rows.count();
    a.row_offsets = rows.offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    a.index_bound = rows.bound;
    a.method = COE_CLUSTER_AVERAGE_LINKAGE;
    a.threshold = threshold;
    a.expert_count = static_cast<std::uint32_t>(e.weights.size());
    a.item_expert = e.of_item.data();
    a.expert_weights = e.weights.data();
    a.quorum = quorum;
    a.prior_weight = 1.f;
    return a;
}

Outputs by_graph(const Rows &rows, float threshold, const Experts &e, std::uint32_t quorum) {
    const std::uint32_t n = rows.count();
    std::vector<std::uint32_t> labels(n), supporters(n), representative(n), ranking(n);
    std::vector<float> support(n), confidence(n);
    std::vector<std::uint8_t> consensus(n);
    coe_group_items_args a = group_args(rows, threshold, e, quorum);
    a.labels = labels.data();
    a.supporters = supporters.data();
    a.support = support.data();
    a.confidence = confidence.data();
    a.representative = representative.data();
    a.consensus = consensus.data();
    a.ranking = ranking.data();
    REQUIRE(k::group_items(a) == COE_OK);
    const std::uint32_t g = a.group_count;
    for (auto *v : {&supporters, &representative, &ranking}) v->resize(g);
    support.resize(g);
    confidence.resize(g);
    consensus.resize(g);
    return {g, labels, supporters, representative, ranking, support, confidence, consensus};
}

const float thresholds[] = {-0.5f, 0.f, 0.05f, 0.2f, 0.35f, 0.5f, 0.8f, 1.f, 1.1f};

}  // namespace

TEST_CASE("the sparse item graph equals thresholding the full matrix") {
    std::mt19937 rng(41);
    for (int round = 0; round < 240; ++round) {
        const auto shape = static_cast<Shape>(round % 6);
        const Rows rows = random_rows(rng, static_cast<std::uint32_t>(rng() % 70), shape);
        for (float threshold : thresholds) {
            CAPTURE(round);
            CAPTURE(threshold);
            check_graph(rows, threshold);
        }
    }
}

TEST_CASE("coe.group_items/1 is coe.similarity, coe.cluster/1 and coe.aggregate/2 in turn, bit for bit") {
    std::mt19937 rng(43);
    for (int round = 0; round < 240; ++round) {
        const auto shape = static_cast<Shape>(round % 6);
        const auto n = static_cast<std::uint32_t>(rng() % (round % 10 == 0 ? 300 : 70));
        const Rows rows = random_rows(rng, n, shape);
        const Experts experts = random_experts(rng, n);
        for (float threshold : thresholds) {
            CAPTURE(round);
            CAPTURE(threshold);
            const std::uint32_t quorum = 1 + static_cast<std::uint32_t>(rng() % 4);
            CHECK(by_graph(rows, threshold, experts, quorum) == by_matrix(rows, threshold, experts, quorum));
        }
    }
}

TEST_CASE("coe.group_items/1 on the lines of the MT-Bench answers, as a panel's items") {
    const auto panels = coe::test::mtbench_panel_texts();
    REQUIRE(panels.size() == 80);
    std::mt19937 rng(47);
    for (std::size_t p = 0; p < panels.size(); p += 3) {
        std::vector<std::string> items;
        Experts experts;
        for (std::size_t e = 0; e < panels[p].size(); ++e) {
            experts.weights.push_back(std::uniform_real_distribution<float>(0.2f, 1.f)(rng));
            for (const std::string &line : coe::test::lines_of(panels[p][e]))
                if (line.size() > 8) {
                    items.push_back(line);
                    experts.of_item.push_back(static_cast<std::uint32_t>(e));
                }
        }
        // the engine's features (coe.featurize/2, default options)
        std::vector<const char *> texts;
        std::vector<std::uint64_t> lengths;
        for (const auto &t : items) {
            texts.push_back(t.data());
            lengths.push_back(t.size());
        }
        std::uint64_t capacity = items.size();
        for (auto l : lengths) capacity += l;
        Rows rows;
        rows.offsets.assign(items.size() + 1, 0);
        rows.indices.resize(capacity);
        rows.values.resize(capacity);
        coe_featurize_args f{};
        f.struct_size = sizeof f;
        f.text_count = static_cast<std::uint32_t>(items.size());
        f.texts = texts.data();
        f.text_lengths = lengths.data();
        f.bucket_bits = 18;
        f.flags = COE_FEATURIZE_BIGRAMS | COE_FEATURIZE_STOP_WORDS | COE_FEATURIZE_SUBLINEAR_TF | COE_FEATURIZE_IDF |
                  COE_FEATURIZE_L2_NORMALIZE | COE_FEATURIZE_STEM;
        f.entry_capacity = capacity;
        f.row_offsets = rows.offsets.data();
        f.indices = rows.indices.data();
        f.values = rows.values.data();
        REQUIRE(k::featurize<2>(f) == COE_OK);
        rows.indices.resize(f.entry_count);
        rows.values.resize(f.entry_count);
        rows.bound = 1u << 18;
        CAPTURE(p);
        CAPTURE(items.size());
        for (float threshold : {0.3f, 0.5f, 0.65f}) {
            check_graph(rows, threshold);
            CHECK(by_graph(rows, threshold, experts, 3) == by_matrix(rows, threshold, experts, 3));
        }
    }
}

TEST_CASE("coe.group_items/1 refuses bad input with the message of the operation it stands for") {
    std::mt19937 rng(53);
    Rows rows = random_rows(rng, 12, Shape::random);
    const Experts experts = random_experts(rng, 12);
    std::vector<std::uint32_t> labels(12), supporters(12), representative(12), ranking(12);
    std::vector<float> support(12), confidence(12);
    std::vector<std::uint8_t> consensus(12);
    auto refusal = [&](auto &&edit) -> std::string {
        Rows copy = rows;
        Experts e = experts;
        coe_group_items_args a = group_args(copy, 0.4f, e, 2);
        a.labels = labels.data();
        a.supporters = supporters.data();
        a.support = support.data();
        a.confidence = confidence.data();
        a.representative = representative.data();
        a.consensus = consensus.data();
        a.ranking = ranking.data();
        edit(a, copy, e);
        try {
            k::group_items(a);
        } catch (const coe::sdk::status_error &error) {
            return error.what();
        }
        return "accepted";
    };
    CHECK(refusal([](auto &, Rows &, Experts &) {}) == "accepted");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.threshold = std::numeric_limits<float>::quiet_NaN(); }) ==
          "threshold is not finite");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.method = 9; }) == "unknown clustering method 9");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.reserved0 = 1; }) == "reserved0 must be 0");
    CHECK(refusal([](auto &a, Rows &r, Experts &) {
              r.values[0] = std::numeric_limits<float>::infinity();
              a.values = r.values.data();
          }) == "vector 0 has a non-finite value");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.index_bound = 1; }).find(">= index_bound 1") != std::string::npos);
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.row_offsets = nullptr; }) == "row_offsets is null");
    CHECK(refusal([](auto &a, Rows &, Experts &e) {
              e.of_item[3] = 99;
              a.item_expert = e.of_item.data();
          }) == "item 3 names expert 99 >= expert_count");
    CHECK(refusal([](auto &a, Rows &, Experts &e) {
              e.weights[0] = 0.f;
              a.expert_weights = e.weights.data();
          }) == "expert_weights[0] must be finite and > 0");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.prior_weight = -1.f; }) == "prior_weight must be finite and >= 0");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.ranking = nullptr; }) == "an output buffer is null");
    CHECK(refusal([](auto &a, Rows &, Experts &) { a.labels = nullptr; }) == "labels is null");
}

TEST_CASE("coe.group_items/1 of no items, and of one") {
    Rows none;
    Experts experts{{}, {1.f}};
    coe_group_items_args a = group_args(none, 0.5f, experts, 1);
    a.group_count = 77;
    CHECK(k::group_items(a) == COE_OK);
    CHECK(a.group_count == 0);
    std::mt19937 rng(59);
    const Rows one = random_rows(rng, 1, Shape::random);
    experts.of_item = {0};
    CHECK(by_graph(one, 0.5f, experts, 1) == by_matrix(one, 0.5f, experts, 1));
}
