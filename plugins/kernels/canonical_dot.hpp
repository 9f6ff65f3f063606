// canonical_dot.hpp - the dot product of coe.similarity/2's dense vectors:
// one summation order, specified in coe/ops/similarity.h, that every
// backend computes bit for bit.
//
// Sixteen float lanes: term k (the product u[k] * v[k], rounded to float,
// never fused with the add) goes to lane k mod 16, each lane adds its terms
// in increasing k from +0; the lanes are then folded in halves (lane l +
// lane l + 8, then + 4, + 2, + 1).  A 16-float vector register (avx512) or
// two 8-float ones (avx2) hold the lanes of one pair as they are, so SIMD
// computes exactly the scalar reference's sums.  Zero padding would change
// nothing (a lane that starts at +0 is never -0, and adding a zero to it is
// exact), but the tail after the last full 16 terms is added lane by lane
// here instead, so nothing reads past a row.
//
// Tiles of R rows by C columns share their loads (the register tile of a
// matrix-multiply micro-kernel); every pair of a tile is summed exactly as
// a 1 x 1 tile sums it, so the blocking never changes a result.
#pragma once

#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernel_namespace.hpp"

namespace coe::kernels {
// The portable reference: no SIMD types at all.
struct scalar_arch {};
}  // namespace coe::kernels

COE_KERNELS_BEGIN

template <class A>
constexpr bool is_scalar_v = std::is_same_v<A, scalar_arch>;

constexpr std::uint64_t canonical_dot_lanes = 16;

// Folds the 16 lane sums: halves added pairwise, lane l with lane l + w.
inline float fold_canonical_lanes(float p[canonical_dot_lanes]) {
    for (std::uint64_t w = canonical_dot_lanes / 2; w >= 1; w /= 2)
        for (std::uint64_t l = 0; l < w; ++l) p[l] = p[l] + p[l + w];
    return p[0];
}

// Adds terms [from, n) of u . v into the lanes (from is a multiple of 16).
inline void add_canonical_tail(const float *u, const float *v, std::uint64_t from, std::uint64_t n,
                               float p[canonical_dot_lanes]) {
    for (std::uint64_t k = from; k < n; ++k) p[k - from] = p[k - from] + u[k] * v[k];
}

// out[r][c] = the canonical dot product of rows a[r] and b[c], n terms each.
template <class A, int R, int C>
inline void canonical_dots(const float *const a[R], const float *const b[C], std::uint64_t n, float out[R][C]) {
    constexpr std::uint64_t L = canonical_dot_lanes;
    const std::uint64_t full = n / L * L;
    if constexpr (is_scalar_v<A>) {
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                float p[L] = {};
                for (std::uint64_t i = 0; i < full; i += L)
                    for (std::uint64_t l = 0; l < L; ++l) p[l] = p[l] + a[r][i + l] * b[c][i + l];
                add_canonical_tail(a[r], b[c], full, n, p);
                out[r][c] = fold_canonical_lanes(p);
            }
    } else {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint64_t w = batch::size;
        static_assert(L % w == 0, "a vector register must hold a whole number of lanes' groups");
        constexpr int regs = static_cast<int>(L / w);
        batch acc[R][C][regs];
        for (auto &row : acc)
            for (auto &pair : row)
                for (auto &x : pair) x = batch(0.f);
        for (std::uint64_t i = 0; i < full; i += L)
            for (int g = 0; g < regs; ++g) {
                const std::uint64_t at = i + static_cast<std::uint64_t>(g) * w;
                batch av[R];
                for (int r = 0; r < R; ++r) av[r] = batch::load_unaligned(a[r] + at);
                for (int c = 0; c < C; ++c) {
                    const batch bv = batch::load_unaligned(b[c] + at);
                    for (int r = 0; r < R; ++r) acc[r][c][g] = acc[r][c][g] + av[r] * bv;  // no fma: see above
                }
            }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) {
                alignas(64) float p[L];
                for (int g = 0; g < regs; ++g) acc[r][c][g].store_aligned(p + static_cast<std::uint64_t>(g) * w);
                add_canonical_tail(a[r], b[c], full, n, p);
                out[r][c] = fold_canonical_lanes(p);
            }
    }
}

template <class A>
inline float canonical_dot(const float *u, const float *v, std::uint64_t n) {
    const float *a[1] = {u}, *b[1] = {v};
    float out[1][1];
    canonical_dots<A, 1, 1>(a, b, n, out);
    return out[0][0];
}

// The register tile of the dense similarity: accumulators for R x C pairs
// plus the R + 1 vectors loaded per step must fit the register file (16
// ymm: 2 x 3 pairs x 2 registers + 3 loads; 32 zmm: 4 x 5 pairs + 5 loads).
template <class A>
constexpr int float_lanes() {
    if constexpr (is_scalar_v<A>) return 1;
    else return static_cast<int>(xsimd::batch<float, A>::size);
}
template <class A>
struct canonical_tile {
    static constexpr int width = float_lanes<A>();
    static constexpr int rows = width >= 16 ? 4 : width >= 8 ? 2 : 1;
    static constexpr int cols = width >= 16 ? 5 : width >= 8 ? 3 : 1;
};

COE_KERNELS_END
