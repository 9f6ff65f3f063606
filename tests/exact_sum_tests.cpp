// ExactSum (coe.consensus/3, coe.aggregate/2) against exact integer
// arithmetic: the value is the exact sum rounded to the nearest double, ties
// to even, in whatever order the terms come; and the consensus and
// aggregation kernels' new revisions against their previous ones.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "aggregate_kernel.hpp"
#include "canonical_sum.hpp"
#include "consensus_kernel.hpp"

namespace {

namespace k = coe::kernels::test_reference;
using boost::multiprecision::cpp_int;

// x as an integer count of 2^-1074 (every finite double is one).
cpp_int scaled(double x) {
    if (x == 0.0) return 0;
    int e = 0;
    const double m = std::frexp(std::fabs(x), &e);                        // x = m 2^e, m in [0.5, 1)
    const auto mantissa = static_cast<std::uint64_t>(std::ldexp(m, 53));  // exact: 53 bits
    cpp_int v = mantissa;
    const int shift = e - 53 + 1074;  // x = mantissa 2^(e - 53)
    v <<= shift;
    return x < 0 ? cpp_int(-v) : v;
}

// Is v the exact sum of `terms` rounded to nearest, ties to even?
bool correctly_rounded(const std::vector<double> &terms, double v) {
    cpp_int exact = 0;
    for (double t : terms) exact += scaled(t);
    const cpp_int r = exact - scaled(v);  // what v leaves out
    const cpp_int twice = r < 0 ? cpp_int(-2 * r) : cpp_int(2 * r);
    // v's neighbour on r's side is an ulp away (below a power of two, going
    // down, half an ulp: covered by comparing with that smaller gap)
    const double toward = r < 0 ? std::nextafter(v, -INFINITY) : std::nextafter(v, INFINITY);
    const cpp_int gap =
        scaled(toward) - scaled(v) < 0 ? cpp_int(scaled(v) - scaled(toward)) : cpp_int(scaled(toward) - scaled(v));
    if (twice < gap) return true;
    if (twice > gap) return false;
    std::uint64_t bits = 0;  // a tie: v must be the even one
    std::memcpy(&bits, &v, sizeof bits);
    return (bits & 1u) == 0;
}

double exact_of(std::vector<double> terms) { return k::exact_sum(terms); }

std::vector<double> random_terms(std::mt19937_64 &rng, std::size_t n, int min_exp, int max_exp) {
    std::uniform_int_distribution<int> e(min_exp, max_exp);
    std::uniform_real_distribution<double> m(0.5, 1.0);
    std::bernoulli_distribution negative(0.5);
    std::vector<double> t(n);
    for (auto &x : t) x = std::ldexp(m(rng), e(rng)) * (negative(rng) ? -1.0 : 1.0);
    return t;
}

}  // namespace

TEST_CASE("exact sums are the exact sum rounded once, in any order") {
    std::mt19937_64 rng(5);
    for (int round = 0; round < 400; ++round) {
        const std::size_t n = 1 + round % 97;
        const int spread = round % 4 == 0 ? 300 : round % 4 == 1 ? 60 : round % 4 == 2 ? 10 : 0;
        std::vector<double> t = random_terms(rng, n, -spread, spread);
        if (round % 5 == 0)  // heavy cancellation: every term and its negation, then a crumb
            for (std::size_t i = 0, m = t.size(); i < m; ++i) t.push_back(-t[i] * (1.0 + std::ldexp(1.0, -40)));
        CAPTURE(round);
        const double v = exact_of(t);
        CHECK(correctly_rounded(t, v));
        for (int p = 0; p < 3; ++p) {
            std::shuffle(t.begin(), t.end(), rng);
            const double w = exact_of(t);
            CHECK(std::memcmp(&v, &w, sizeof v) == 0);
        }
    }
}

TEST_CASE("exact sums: ties, cancellation, zeros") {
    const double half_ulp = std::ldexp(1.0, -53);
    // exactly half way between 1 and 1 + 2^-52: to even (1)
    CHECK(exact_of({1.0, half_ulp}) == 1.0);
    // a hair beyond half way, the hair far below: up
    CHECK(exact_of({1.0, half_ulp, std::ldexp(1.0, -200)}) == 1.0 + std::ldexp(1.0, -52));
    CHECK(exact_of({std::ldexp(1.0, -200), half_ulp, 1.0}) == 1.0 + std::ldexp(1.0, -52));
    // a hair short of half way: down
    CHECK(exact_of({1.0, half_ulp, -std::ldexp(1.0, -200)}) == 1.0);
    // half way between 1 + 2^-52 and 1 + 2^-51: to even (1 + 2^-51)
    CHECK(exact_of({1.0 + std::ldexp(1.0, -52), half_ulp}) == 1.0 + std::ldexp(1.0, -51));
    // what a plain sum loses
    CHECK(exact_of({1e100, 1.0, -1e100}) == 1.0);
    CHECK(exact_of({0.1, 0.2, -0.3}) == std::ldexp(1.0, -55));  // the doubles' exact sum; a plain sum gives 2^-54
    CHECK(correctly_rounded({0.1, 0.2, -0.3}, exact_of({0.1, 0.2, -0.3})));
    // zeros: +0, whatever their signs
    const double z = exact_of({-0.0, -0.0});
    CHECK(z == 0.0);
    CHECK(!std::signbit(z));
    CHECK(!std::signbit(exact_of({})));
    CHECK(!std::signbit(exact_of({1.5, -1.5})));
    // one term: itself
    CHECK(exact_of({-3.25}) == -3.25);
}

namespace {

// A random clustered panel for the kernels.
struct Panel {
    std::uint32_t n = 0, k = 0;
    std::vector<float> similarity, weights;
    std::vector<std::uint32_t> labels;
};

Panel random_panel(std::mt19937_64 &rng, std::uint32_t n) {
    Panel p;
    p.n = n;
    p.similarity.assign(std::size_t{n} * n, 1.f);
    std::uniform_real_distribution<float> s(-0.2f, 1.f), w(0.1f, 5.f);
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t j = i + 1; j < n; ++j) p.similarity[i * n + j] = p.similarity[j * n + i] = s(rng);
    p.weights.resize(n);
    for (auto &x : p.weights) x = w(rng);
    p.k = 1 + n / 4;
    p.labels.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) p.labels[i] = i < p.k ? i : static_cast<std::uint32_t>(rng() % p.k);
    return p;
}

struct ConsensusOut {
    std::vector<float> centrality, z, share, cohesion;
    std::vector<std::uint8_t> outlier;
    std::vector<std::uint32_t> rep;
    coe_consensus_args a{};
};

template <int Revision>
ConsensusOut run_consensus(const Panel &p) {
    ConsensusOut o;
    o.centrality.resize(p.n);
    o.z.resize(p.n);
    o.outlier.resize(p.n);
    o.share.resize(p.k);
    o.cohesion.resize(p.k);
    o.rep.resize(p.k);
    o.a.struct_size = sizeof o.a;
    o.a.count = p.n;
    o.a.similarity = p.similarity.data();
    o.a.similarity_stride = p.n;
    o.a.weights = p.weights.data();
    o.a.labels = p.labels.data();
    o.a.cluster_count = p.k;
    o.a.outlier_z = 3.5f;
    o.a.prior_weight = 1.f;
    o.a.centrality = o.centrality.data();
    o.a.robust_z = o.z.data();
    o.a.outlier = o.outlier.data();
    o.a.cluster_share = o.share.data();
    o.a.cluster_cohesion = o.cohesion.data();
    o.a.cluster_representative = o.rep.data();
    k::consensus<Revision>(o.a);
    return o;
}

void close(float a, float b) { CHECK(std::fabs(a - b) <= 4e-7f * std::max(1.f, std::fabs(b))); }

}  // namespace

TEST_CASE("coe.consensus/3 is /2 up to the rounding of its sums, and permutation-invariant bit for bit") {
    std::mt19937_64 rng(9);
    for (std::uint32_t n : {1u, 2u, 3u, 7u, 31u, 64u}) {
        CAPTURE(n);
        const Panel p = random_panel(rng, n);
        const ConsensusOut v2 = run_consensus<2>(p), v3 = run_consensus<3>(p);
        for (std::uint32_t i = 0; i < n; ++i) close(v3.centrality[i], v2.centrality[i]);
        for (std::uint32_t c = 0; c < p.k; ++c) {
            close(v3.share[c], v2.share[c]);
            close(v3.cohesion[c], v2.cohesion[c]);
        }
        close(v3.a.mean_agreement, v2.a.mean_agreement);
        close(v3.a.entropy, v2.a.entropy);
        close(v3.a.confidence, v2.a.confidence);

        // reversed experts: every per-expert number moves with its expert, unchanged
        Panel r = p;
        for (std::uint32_t i = 0; i < n; ++i) {
            r.weights[i] = p.weights[n - 1 - i];
            r.labels[i] = p.labels[n - 1 - i];
            for (std::uint32_t j = 0; j < n; ++j) r.similarity[i * n + j] = p.similarity[(n - 1 - i) * n + (n - 1 - j)];
        }
        const ConsensusOut w3 = run_consensus<3>(r);
        for (std::uint32_t i = 0; i < n; ++i) {
            CHECK(std::memcmp(&w3.centrality[i], &v3.centrality[n - 1 - i], sizeof(float)) == 0);
            CHECK(std::memcmp(&w3.z[i], &v3.z[n - 1 - i], sizeof(float)) == 0);
        }
        CHECK(std::memcmp(&w3.a.mean_agreement, &v3.a.mean_agreement, sizeof(float)) == 0);
        CHECK(std::memcmp(&w3.a.entropy, &v3.a.entropy, sizeof(float)) == 0);
        CHECK(std::memcmp(&w3.a.confidence, &v3.a.confidence, sizeof(float)) == 0);
    }
}

TEST_CASE("coe.aggregate/2 is /1 up to the rounding of its sums") {
    std::mt19937_64 rng(13);
    for (std::uint32_t m : {1u, 4u, 30u, 90u}) {
        CAPTURE(m);
        const Panel p = random_panel(rng, m);  // items: similarity and groups
        const std::uint32_t experts = 1 + m / 3;
        std::vector<std::uint32_t> owner(m);
        for (std::uint32_t i = 0; i < m; ++i) owner[i] = static_cast<std::uint32_t>(rng() % experts);
        std::vector<float> weights(experts);
        for (auto &w : weights) w = 0.5f + static_cast<float>(rng() % 100) / 37.f;
        auto run = [&](auto revision) {
            std::vector<std::uint32_t> supporters(p.k), rep(p.k), ranking(p.k);
            std::vector<float> support(p.k), confidence(p.k);
            std::vector<std::uint8_t> consensus(p.k);
            coe_aggregate_args a{};
            a.struct_size = sizeof a;
            a.item_count = m;
            a.expert_count = experts;
            a.group_count = p.k;
            a.item_group = p.labels.data();
            a.item_expert = owner.data();
            a.similarity = p.similarity.data();
            a.similarity_stride = m;
            a.expert_weights = weights.data();
            a.quorum = 2;
            a.prior_weight = 1.f;
            a.supporters = supporters.data();
            a.support = support.data();
            a.confidence = confidence.data();
            a.representative = rep.data();
            a.consensus = consensus.data();
            a.ranking = ranking.data();
            k::aggregate<decltype(revision)::value>(a);
            return std::make_tuple(support, confidence, supporters);
        };
        const auto [s1, c1, p1] = run(std::integral_constant<int, 1>{});
        const auto [s2, c2, p2] = run(std::integral_constant<int, 2>{});
        CHECK(p1 == p2);
        for (std::uint32_t g = 0; g < p.k; ++g) {
            close(s2[g], s1[g]);
            close(c2[g], c1[g]);
        }
    }
}
