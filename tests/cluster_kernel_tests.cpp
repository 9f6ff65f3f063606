// The clustering kernel against a plain full-scan reference: same labels on
// random matrices, including matrices full of ties.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cluster_kernel.hpp"

namespace {

// Average linkage by the book: scan every pair for the best each round.
std::vector<std::uint32_t> reference_labels(std::vector<double> s, std::uint32_t n, double threshold) {
    std::vector<std::uint32_t> size(n, 1), parent(n);
    std::vector<bool> alive(n, true);
    for (std::uint32_t i = 0; i < n; ++i) parent[i] = i;
    for (;;) {
        std::uint32_t ba = n, bb = n;
        double best = 0;
        for (std::uint32_t i = 0; i < n; ++i)
            for (std::uint32_t j = i + 1; j < n; ++j)
                if (alive[i] && alive[j] && s[i * n + j] >= threshold && (ba == n || s[i * n + j] > best)) {
                    best = s[i * n + j];
                    ba = i;
                    bb = j;
                }
        if (ba == n) break;
        for (std::uint32_t k = 0; k < n; ++k) {
            if (!alive[k] || k == ba || k == bb) continue;
            const double v = (size[ba] * s[ba * n + k] + size[bb] * s[bb * n + k]) / double(size[ba] + size[bb]);
            s[ba * n + k] = s[k * n + ba] = v;
        }
        size[ba] += size[bb];
        alive[bb] = false;
        parent[bb] = ba;
    }
    std::vector<std::uint32_t> label(n), slot_label(n, 0);
    std::uint32_t next = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        if (alive[i]) slot_label[i] = next++;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t r = i;
        while (parent[r] != r) r = parent[r];
        label[i] = slot_label[r];
    }
    return label;
}

}  // namespace

TEST_CASE("the cached clustering picks exactly the merges of a full scan") {
    std::mt19937 rng(17);
    for (int round = 0; round < 300; ++round) {
        const auto n = static_cast<std::uint32_t>(1 + rng() % 60);
        const int levels = (round % 3 == 0) ? 4 : 1000;  // few levels: many exact ties
        const bool sparse = round % 4 == 1;              // mostly zeros, as a panel's items: many components
        const bool signed_values = round % 5 == 2;       // negative values, and zeros of both signs
        std::vector<float> m(n * n, 1.f);
        for (std::uint32_t i = 0; i < n; ++i)
            for (std::uint32_t j = i + 1; j < n; ++j) {
                float v =
                    (sparse && rng() % 8 != 0) ? 0.f : static_cast<float>(rng() % levels) / static_cast<float>(levels);
                if (signed_values && rng() % 2 == 0) v = -v;
                m[i * n + j] = m[j * n + i] = v;
            }
        const float threshold = static_cast<float>(static_cast<int>(rng() % 12) - (signed_values ? 6 : 0)) / 10.f;
        std::vector<double> s(m.begin(), m.end());
        CAPTURE(round);
        const std::vector<std::uint32_t> want = reference_labels(s, n, threshold);
        // the scalar code, and the vector code on this build's widest vectors
        for (int vector = 0; vector < 2; ++vector) {
            std::vector<std::uint32_t> labels(n);
            coe_cluster_args a{};
            a.struct_size = sizeof a;
            a.count = n;
            a.similarity = m.data();
            a.similarity_stride = n;
            a.method = COE_CLUSTER_AVERAGE_LINKAGE;
            a.threshold = threshold;
            a.labels = labels.data();
            REQUIRE((vector ? coe::kernels::cluster<xsimd::default_arch>(a) : coe::kernels::cluster(a)) == COE_OK);
            CAPTURE(vector);
            CHECK(labels == want);
        }
    }
}

TEST_CASE("a non-finite similarity is refused with its place, wherever it is") {
    using coe::kernels::validate_similarity_matrix;
    const std::uint32_t n = 37;  // rows longer than a vector, with a remainder
    const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity()};
    std::vector<float> m(n * n, 0.5f);
    CHECK_NOTHROW(validate_similarity_matrix(m.data(), n, n, "similarity"));
    m[3] = std::numeric_limits<float>::max();  // large, but finite
    m[4] = -std::numeric_limits<float>::denorm_min();
    CHECK_NOTHROW(validate_similarity_matrix(m.data(), n, n, "similarity"));
    for (float value : bad)
        for (std::uint32_t at : {0u, 7u, 36u, 5 * n + 33, n * n - 1}) {
            std::vector<float> copy = m;
            copy[at] = value;
            const std::string where = "(" + std::to_string(at / n) + ", " + std::to_string(at % n) + ")";
            CHECK_THROWS_WITH(validate_similarity_matrix(copy.data(), n, n, "similarity"),
                              ("similarity has a non-finite value at " + where).c_str());
        }
}
