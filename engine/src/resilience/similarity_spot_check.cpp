#include "similarity_spot_check.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "coe/device_routing.hpp"
#include "result_checks.hpp"

namespace coe::detail {
namespace {

double pairs(double n) { return n * (n + 1) / 2; }

// k distinct indices of 0..n-1 in increasing order: 0, n - 1 and k - 2
// drawn at random (Floyd's sampling: k draws, no table of n).
void draw_indices(std::uint32_t n, std::uint32_t k, std::uint64_t seed, std::vector<std::uint32_t> &out) {
    out.clear();
    out.push_back(0);
    out.push_back(n - 1);
    std::mt19937_64 rng(seed);
    // the k - 2 of the n - 2 inner indices 1..n-2
    const std::uint32_t inner = n - 2;
    for (std::uint32_t j = inner - (k - 2); j < inner; ++j) {
        const std::uint32_t t = 1 + static_cast<std::uint32_t>(std::uniform_int_distribution<std::uint64_t>(0, j)(rng));
        const bool taken = std::find(out.begin() + 2, out.end(), t) != out.end();
        out.push_back(taken ? j + 1 : t);
    }
    std::sort(out.begin(), out.end());
}

}  // namespace

SimilaritySpotCheck::SimilaritySpotCheck(const coe_similarity_args &call, std::uint32_t revision,
                                         std::uint64_t above_multiply_adds, std::uint32_t vectors)
    : call_(call),
      revision_(revision),
      vectors_(std::max<std::uint32_t>(vectors, 2)),
      applies_(above_multiply_adds > 0 && call.count > vectors_ &&
               full_multiply_adds(call) > static_cast<double>(above_multiply_adds)) {}

double SimilaritySpotCheck::full_multiply_adds(const coe_similarity_args &call) {
    if (call.kind == COE_VECTORS_DENSE)
        return static_cast<double>(dense_similarity_multiply_adds(call.count, call.dimension));
    const double n = call.count;
    if (call.count == 0 || call.row_offsets == nullptr) return 0;
    const double entries = static_cast<double>(call.row_offsets[call.count] - call.row_offsets[0]);
    return pairs(n) * std::max(1.0, 2 * entries / n);
}

bool SimilaritySpotCheck::matches(const Backend &reference, const Matrix &out, double &full_ms,
                                  std::uint64_t seed) const {
    thread_local std::vector<std::uint32_t> picked;
    thread_local std::vector<float> dense, values, result;
    thread_local std::vector<std::uint64_t> offsets;
    thread_local std::vector<std::uint32_t> indices;
    const std::uint32_t n = call_.count, k = vectors_;
    draw_indices(n, k, seed, picked);

    coe_similarity_args a = call_;
    a.struct_size = sizeof a;
    a.count = k;
    if (call_.kind == COE_VECTORS_DENSE) {
        const auto d = static_cast<std::size_t>(call_.dimension);  // the call's rows of d floats are in memory
        dense.resize(k * d);
        for (std::uint32_t r = 0; r < k; ++r)
            std::copy_n(call_.dense + picked[r] * call_.dense_stride, d, dense.begin() + r * d);
        a.dense = dense.data();
        a.dense_stride = d;
    } else {
        offsets.assign(1, 0);
        indices.clear();
        values.clear();
        for (std::uint32_t r : picked) {
            const std::uint64_t b = call_.row_offsets[r], e = call_.row_offsets[r + 1];
            indices.insert(indices.end(), call_.indices + b, call_.indices + e);
            values.insert(values.end(), call_.values + b, call_.values + e);
            offsets.push_back(indices.size());
        }
        a.row_offsets = offsets.data();
        a.indices = indices.data();
        a.values = values.data();
    }
    result.assign(static_cast<std::size_t>(k) * k, 0.f);
    a.out = result.data();
    a.out_stride = k;

    const auto t0 = std::chrono::steady_clock::now();
    reference.invoke(COE_OP_SIMILARITY, revision_, &a);
    const double spot_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    full_ms = spot_ms * pairs(n) / pairs(k);

    for (std::uint32_t r = 0; r < k; ++r)
        for (std::uint32_t c = 0; c < k; ++c)
            if (!same_value(out(picked[r], picked[c]), result[static_cast<std::size_t>(r) * k + c])) return false;
    return true;
}

}  // namespace coe::detail
