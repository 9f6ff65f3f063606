// canonical_dot.hpp - the dot product of coe.similarity/2's dense vectors:
// one summation order, specified in coe/ops/similarity.h, that every
// backend computes bit for bit.
//
// Sixteen float lanes: term k (the product u[k] * v[k], rounded to float,
// never fused with the add) goes to lane k mod 16, each lane adds its terms
// in increasing k from +0; the lanes are then folded in halves (lane l +
// lane l + 8, then + 4, + 2, + 1).  A 16-float vector register (avx512) or
// two 8-float ones (avx2) hold the lanes of one pair as they are, so SIMD
// computes exactly the scalar reference's sums.  The last terms are
// zero-padded to a whole step of 16, which changes nothing: a lane that
// starts at +0 is never -0 (x + y is -0 only when both are), so adding a
// zero product to it is exact.
//
// Tiles of R rows by C columns share their loads (the register tile of a
// matrix-multiply micro-kernel); every pair of a tile is summed exactly as
// a 1 x 1 tile sums it, so the blocking never changes a result.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX__)
#include <immintrin.h>
#endif

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

// Folds one pair's 16 lanes, held in 16 / w registers of w floats, in
// exactly fold_canonical_lanes' order: the halves of the 16 lanes, then of
// the 8, 4 and 2 left.
template <class A, class Batch>
inline float fold_canonical_batches(const Batch *regs) {
#if defined(__AVX__)
    constexpr std::size_t w = Batch::size;
    __m256 s8;
    if constexpr (w == 8) {
        s8 = _mm256_add_ps(regs[0], regs[1]);  // lanes 0..7 + lanes 8..15
    } else {
#if defined(__AVX512F__)
        static_assert(w == 16, "16 lanes in one or two registers");
        // through memory: GCC 12 warns (wrongly) about the 512-bit extract intrinsics
        alignas(64) float p[canonical_dot_lanes];
        regs[0].store_aligned(p);
        s8 = _mm256_add_ps(_mm256_load_ps(p), _mm256_load_ps(p + 8));
#else
        static_assert(w == 8, "16 lanes in one or two registers");
#endif
    }
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 0x55)));
#else
    constexpr std::uint64_t w = Batch::size;
    alignas(64) float p[canonical_dot_lanes];
    for (std::uint64_t g = 0; g < canonical_dot_lanes / w; ++g) regs[g].store_aligned(p + g * w);
    return fold_canonical_lanes(p);
#endif
}

// The first `count` floats at p (1 <= count <= the register's width) in a
// register, its other lanes zero; no float past them is read.
template <class A>
inline xsimd::batch<float, A> load_prefix(const float *p, std::uint64_t count) {
    using batch = xsimd::batch<float, A>;
    constexpr std::uint64_t w = batch::size;
#if defined(__AVX512F__)
    if constexpr (w == 16) return batch(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1u), p));
#endif
#if defined(__AVX__)
    if constexpr (w == 8) {
        alignas(32) static constexpr std::int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        const __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(lanes + 8 - count));
        return batch(_mm256_maskload_ps(p, k));
    }
#endif
    alignas(64) float prefix[w] = {};
    std::copy(p, p + count, prefix);
    return batch::load_aligned(prefix);
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
        // every loop over the tile fully unrolled, so that the accumulators
        // live in registers (GCC keeps an array it cannot unroll in memory)
        batch acc[R][C][regs];
#pragma GCC unroll 32
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 32
            for (int c = 0; c < C; ++c)
#pragma GCC unroll 4
                for (int g = 0; g < regs; ++g) acc[r][c][g] = batch(0.f);
        // one step: terms [at, at + 16) of rows ra against rows rb
        auto step = [&](const float *const ra[R], const float *const rb[C], std::uint64_t at) {
#pragma GCC unroll 4
            for (int g = 0; g < regs; ++g) {
                const std::uint64_t k = at + static_cast<std::uint64_t>(g) * w;
                batch av[R];
#pragma GCC unroll 32
                for (int r = 0; r < R; ++r) av[r] = batch::load_unaligned(ra[r] + k);
#pragma GCC unroll 32
                for (int c = 0; c < C; ++c) {
                    const batch bv = batch::load_unaligned(rb[c] + k);
#pragma GCC unroll 32
                    for (int r = 0; r < R; ++r) acc[r][c][g] = acc[r][c][g] + av[r] * bv;  // no fma: see above
                }
            }
        };
        for (std::uint64_t i = 0; i < full; i += L) step(a, b, i);
        // The last terms, loaded with the lanes past n as zeros, and the
        // registers past them left out: both add nothing (exact: see above).
        const std::uint64_t rest = n - full;
#pragma GCC unroll 4
        for (int g = 0; g < regs; ++g) {
            const std::uint64_t from = static_cast<std::uint64_t>(g) * w;
            if (from >= rest) break;
            const std::uint64_t count = std::min<std::uint64_t>(w, rest - from);
            batch av[R];
#pragma GCC unroll 32
            for (int r = 0; r < R; ++r) av[r] = load_prefix<A>(a[r] + full + from, count);
#pragma GCC unroll 32
            for (int c = 0; c < C; ++c) {
                const batch bv = load_prefix<A>(b[c] + full + from, count);
#pragma GCC unroll 32
                for (int r = 0; r < R; ++r) acc[r][c][g] = acc[r][c][g] + av[r] * bv;
            }
        }
#pragma GCC unroll 32
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 32
            for (int c = 0; c < C; ++c) out[r][c] = fold_canonical_batches<A>(acc[r][c]);
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
