// similarity_kernel.hpp - coe.similarity/1 and /2: cosine similarity
// matrices.
//
// Dense vectors: templated on the xsimd architecture A (scalar_arch selects
// plain loops).  Revision 1: every backend sums in float in a fixed order of
// its own, so backends differ only by summation order.  Revision 2: every
// backend sums in the one order of canonical_dot.hpp, so backends agree bit
// for bit.  Sparse (hashed text) vectors: one double-precision path for all
// backends and both revisions, bit-identical everywhere.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "coe/coe_plugin.h"
#include "canonical_dot.hpp"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "memory_count.hpp"
#include "thread_scratch.hpp"
#include "radix_sort.hpp"
#include "triangle_blocks.hpp"

COE_KERNELS_BEGIN

// Dot products of three rows a0..a2 with four rows b0..b3: twelve pairs per
// pass, each pair summed exactly as dot1 sums it (one accumulator, k in
// order, then the scalar tail), so results do not depend on the blocking.
// Seven loads feed twelve multiply-adds, against five for four in dot4.
template <class A>
inline void dot3x4(const float *const a[3], const float *const b[4], std::uint64_t n, float out[3][4]) {
    std::uint64_t i = 0;
    float s[3][4] = {};
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint64_t w = batch::size;
        batch c[3][4];
        for (auto &row : c)
            for (auto &x : row) x = batch(0.f);
        for (; i + w <= n; i += w) {
            const batch a0 = batch::load_unaligned(a[0] + i), a1 = batch::load_unaligned(a[1] + i),
                        a2 = batch::load_unaligned(a[2] + i);
            for (int q = 0; q < 4; ++q) {
                const batch bq = batch::load_unaligned(b[q] + i);
                c[0][q] = xsimd::fma(a0, bq, c[0][q]);
                c[1][q] = xsimd::fma(a1, bq, c[1][q]);
                c[2][q] = xsimd::fma(a2, bq, c[2][q]);
            }
        }
        for (int r = 0; r < 3; ++r)
            // xsimd::hadd, found by argument-dependent lookup: xsimd declares it
            // only where it supports the target, and the scalar reference is
            // also built where it supports none (WebAssembly without SIMD)
            for (int q = 0; q < 4; ++q) s[r][q] = hadd(c[r][q]);
    }
    for (; i < n; ++i)
        for (int r = 0; r < 3; ++r)
            for (int q = 0; q < 4; ++q) s[r][q] += a[r][i] * b[q][i];
    for (int r = 0; r < 3; ++r)
        for (int q = 0; q < 4; ++q) out[r][q] = s[r][q];
}

// One dot product, summed exactly as dot3x4 sums each of its twelve, so a
// pair gets the same value whichever path computes it (permutation
// invariance).
template <class A>
inline float dot1(const float *a, const float *b, std::uint64_t n) {
    std::uint64_t i = 0;
    float s = 0.f;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint64_t w = batch::size;
        batch c(0.f);
        for (; i + w <= n; i += w) c = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), c);
        s = hadd(c);  // xsimd::hadd (see dot3x4)
    }
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

inline float cosine(float dot, float norm_a, float norm_b) {
    if (norm_a == 0.f || norm_b == 0.f) return 0.f;
    float c = dot / (norm_a * norm_b);
    return std::min(1.f, std::max(-1.f, c));
}

inline void check_finite_norm(float norm, std::uint32_t row) {
    if (!std::isfinite(norm))
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "vector " + std::to_string(row) + " has a non-finite value");
}

// The largest magnitude of row[0, d) into m, or false where a value is not
// finite.  The vector backends compare and take maxima in lanes (the maximum
// of magnitudes is the same whatever the order) and decide finiteness once
// per row.
template <class A>
inline bool row_magnitude(const float *row, std::uint64_t d, float &m) {
    float largest = 0.f;
    std::uint64_t k = 0;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint64_t w = batch::size;
        if (d >= w) {
            const batch finite_limit(std::numeric_limits<float>::max());
            batch most(0.f);
            auto finite = most == most;  // every lane true
            for (; k + w <= d; k += w) {
                const batch x = xsimd::abs(batch::load_unaligned(row + k));
                finite = finite & (x <= finite_limit);  // false for +-inf and NaN
                // select and all found by argument-dependent lookup (see dot3x4); a
                // select, not xsimd::max: GCC 12 warns (wrongly) about _mm512_max_ps
                most = select(x > most, x, most);
            }
            if (!all(finite)) return false;
            alignas(64) float lanes[w];
            most.store_aligned(lanes);
            for (float x : lanes) largest = std::max(largest, x);
        }
    }
    for (; k < d; ++k) {
        if (!std::isfinite(row[k])) return false;
        largest = std::max(largest, std::fabs(row[k]));
    }
    m = largest;
    return true;
}

// Rows whose largest magnitude is far from 1 would overflow (or underflow)
// float sums of squares; cosine does not depend on a row's scale, so such
// rows are copied scaled by a power of two (exact).  Returns the data to use
// and its stride.
template <class A>
inline const float *rescaled_rows(const coe_similarity_args &a, std::vector<float> &scratch, std::uint64_t &stride) {
    constexpr float high = 0x1p50f, low = 0x1p-50f;
    const std::uint32_t n = a.count;
    const std::uint64_t d = a.dimension;
    thread_local std::vector<int> exponent_tls;  // per thread, capacity kept (see cluster_kernel.hpp)
    std::vector<int> &exponent = thread_scratch(exponent_tls);
    exponent.assign(n, 0);
    bool any = false;
    for (std::uint32_t i = 0; i < n; ++i) {
        float m = 0.f;
        if (!row_magnitude<A>(a.dense + static_cast<std::uint64_t>(i) * a.dense_stride, d, m))
            throw sdk::status_error(COE_ERR_INVALID_ARGUMENT,
                                    "vector " + std::to_string(i) + " has a non-finite value");
        if (m > high || (m > 0.f && m < low)) {
            exponent[i] = std::ilogb(m);
            any = true;
        }
    }
    stride = a.dense_stride;
    if (!any) return a.dense;
    scratch.resize(memory_count(std::uint64_t{n} * d, "count x dimension"));
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint64_t k = 0; k < d; ++k)  // i * d + k < the size just checked
            scratch[static_cast<std::size_t>(i * d + k)] = std::ldexp(a.dense[i * a.dense_stride + k], -exponent[i]);
    stride = d;
    return scratch.data();
}

template <class A>
void similarity_dense(const coe_similarity_args &a) {
    const std::uint32_t n = a.count;
    const std::uint64_t d = a.dimension;
    // per thread, capacity kept (see cluster_kernel.hpp), looked up once
    thread_local std::vector<float> scratch_tls, norm_tls;
    std::vector<float> &scratch = thread_scratch(scratch_tls), &norm = thread_scratch(norm_tls);
    std::uint64_t stride = 0;
    const float *data = rescaled_rows<A>(a, scratch, stride);
    auto row = [&](std::uint32_t i) { return data + static_cast<std::uint64_t>(i) * stride; };
    norm.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) norm[i] = std::sqrt(dot1<A>(row(i), row(i), d));
    auto put = [&](std::uint32_t i, std::uint32_t j, float dot) {
        const float c = cosine(dot, norm[i], norm[j]);
        a.out[static_cast<std::uint64_t>(i) * a.out_stride + j] = c;
        a.out[static_cast<std::uint64_t>(j) * a.out_stride + i] = c;
    };
    for (std::uint32_t i = 0; i < n; ++i) a.out[static_cast<std::uint64_t>(i) * a.out_stride + i] = 1.f;
    std::uint32_t i = 0;
    // rows in threes against columns in fours: the bulk of the upper triangle
    for (; i + 3 <= n; i += 3) {
        const float *rows3[3] = {row(i), row(i + 1), row(i + 2)};
        std::uint32_t j = i + 3;
        for (; j + 4 <= n; j += 4) {
            const float *cols4[4] = {row(j), row(j + 1), row(j + 2), row(j + 3)};
            float dots[3][4];
            dot3x4<A>(rows3, cols4, d, dots);
            for (std::uint32_t r = 0; r < 3; ++r)
                for (std::uint32_t q = 0; q < 4; ++q) put(i + r, j + q, dots[r][q]);
        }
        for (; j < n; ++j)
            for (std::uint32_t r = 0; r < 3; ++r) put(i + r, j, dot1<A>(rows3[r], row(j), d));
        put(i, i + 1, dot1<A>(row(i), row(i + 1), d));
        put(i, i + 2, dot1<A>(row(i), row(i + 2), d));
        put(i + 1, i + 2, dot1<A>(row(i + 1), row(i + 2), d));
    }
    // the last one or two rows
    for (; i < n; ++i)
        for (std::uint32_t j = i + 1; j < n; ++j) put(i, j, dot1<A>(row(i), row(j), d));
}

// cosine() and sparse_cosine() lane by lane: dot / (norm_i * norm_j), 0
// where a norm is 0 (those lanes selected away before they divide), then
// clamped to [-1, 1] as std::min(1, std::max(-1, c)) clamps.  The same
// operations in the same order, so the same bits.
template <class Batch>
inline Batch cosine_lanes(const Batch &dot, const Batch &norm_i, const Batch &norm_j) {
    using T = typename Batch::value_type;
    const Batch zero(T(0)), one(T(1)), minus_one(T(-1));
    const auto no_norm = (norm_j == zero) | (norm_i == zero);
    const Batch c = select(no_norm, zero, dot / select(no_norm, one, norm_i * norm_j));
    const Batch at_least = select(c > minus_one, c, minus_one);  // std::max(-1, c)
    return select(at_least < one, at_least, one);                // std::min(1, ...)
}

// Row i's cosines for j in (i, n), in place: out_i[j] holds the dot product
// of rows i and j and becomes cosine(out_i[j], norm[i], norm[j]), a zero
// written as +0.  Vector backends run the same float operations lane by
// lane (the same bits), the zero-norm lanes selected away before they divide.
template <class A>
inline void dense_cosine_row(float *out_i, const float *norm, std::uint32_t i, std::uint32_t n) {
    const float norm_i = norm[i];
    std::uint32_t j = i + 1;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
        const batch zero(0.f), vnorm_i(norm_i);
        for (; j + w <= n; j += w) {
            const batch c = cosine_lanes(batch::load_unaligned(out_i + j), vnorm_i, batch::load_unaligned(norm + j));
            select(c == zero, zero, c).store_unaligned(out_i + j);
        }
    }
    for (; j < n; ++j) {
        float c = cosine(out_i[j], norm_i, norm[j]);
        if (c == 0.f) c = 0.f;
        out_i[j] = c;
    }
}

// The upper triangle of the n x n matrix `out` copied into the lower one.
inline void mirror_upper_triangle(float *out, std::uint64_t stride, std::uint32_t n) {
    for_each_upper_pair_in_blocks(n,
                                  [&](std::uint32_t i, std::uint32_t j) { out[j * stride + i] = out[i * stride + j]; });
}

// coe.similarity/2 dense: the matrix of canonical dot products, tiled R x C
// over the upper triangle (canonical_tile), each pair summed as
// canonical_dot sums it wherever it falls.  The dot products are written
// into the upper triangle first; once every norm is known each row becomes
// cosines (dense_cosine_row), and the triangle is mirrored.  A cosine of
// zero is written as +0, so that the sign of a zero cannot differ either.
template <class A>
void similarity_dense_canonical(const coe_similarity_args &a) {
    constexpr int R = canonical_tile<A>::rows, C = canonical_tile<A>::cols;
    const std::uint32_t n = a.count;
    const std::uint64_t d = a.dimension;
    // per thread, capacity kept (see cluster_kernel.hpp), looked up once
    thread_local std::vector<float> scratch_tls, norm_tls;
    std::vector<float> &scratch = thread_scratch(scratch_tls), &norm = thread_scratch(norm_tls);
    std::uint64_t stride = 0;
    const float *data = rescaled_rows<A>(a, scratch, stride);
    auto row = [&](std::uint32_t i) { return data + static_cast<std::uint64_t>(i) * stride; };
    auto put = [&](std::uint32_t i, std::uint32_t j, float dot) {
        a.out[static_cast<std::uint64_t>(i) * a.out_stride + j] = dot;
    };
    const std::uint32_t tiled_rows = n / R * R;
    // Each row tile against itself (R x R pairs in one pass): its diagonal
    // gives the rows' squared norms, the pairs above it go in the triangle.
    // The rows past the last tile: one by one.
    norm.resize(n);
    for (std::uint32_t i = 0; i < tiled_rows; i += R) {
        const float *rows[R];
        for (int r = 0; r < R; ++r) rows[r] = row(i + static_cast<std::uint32_t>(r));
        float dots[R][R];
        canonical_dots<A, R, R>(rows, rows, d, dots);
        for (std::uint32_t r = 0; r < R; ++r) {
            norm[i + r] = std::sqrt(dots[r][r]);
            for (std::uint32_t q = r + 1; q < R; ++q) put(i + r, i + q, dots[r][q]);
        }
    }
    for (std::uint32_t i = tiled_rows; i < n; ++i) norm[i] = std::sqrt(canonical_dot<A>(row(i), row(i), d));
    // Columns in blocks that stay in the L2 cache (about 192 KiB of rows)
    // while every row tile passes over them; the blocking changes no result.
    const std::uint64_t row_bytes = d * sizeof(float);
    const auto block = static_cast<std::uint32_t>(
        std::max<std::uint64_t>(C, (std::uint64_t{192} << 10) / std::max<std::uint64_t>(row_bytes, 1) / C * C));
    for (std::uint32_t jb = 0; jb < n; jb += block) {
        const std::uint32_t jend = n - jb > block ? jb + block : n;
        for (std::uint32_t i = 0; i < tiled_rows && i + R < jend; i += R) {
            const float *rows[R];
            for (int r = 0; r < R; ++r) rows[r] = row(i + static_cast<std::uint32_t>(r));
            std::uint32_t j = std::max(i + R, jb);
            for (; j + C <= jend; j += C) {
                const float *cols[C];
                for (int c = 0; c < C; ++c) cols[c] = row(j + static_cast<std::uint32_t>(c));
                float dots[R][C];
                canonical_dots<A, R, C>(rows, cols, d, dots);
                for (int r = 0; r < R; ++r)
                    for (int c = 0; c < C; ++c)
                        put(i + static_cast<std::uint32_t>(r), j + static_cast<std::uint32_t>(c), dots[r][c]);
            }
            for (; j < jend; ++j) {
                const float *col[1] = {row(j)};
                float dots[R][1];
                canonical_dots<A, R, 1>(rows, col, d, dots);
                for (int r = 0; r < R; ++r) put(i + static_cast<std::uint32_t>(r), j, dots[r][0]);
            }
        }
    }
    for (std::uint32_t i = tiled_rows; i < n; ++i)  // the last rows, fewer than R
        for (std::uint32_t j = i + 1; j < n; ++j) put(i, j, canonical_dot<A>(row(i), row(j), d));
    for (std::uint32_t i = 0; i < n; ++i) {
        float *out_i = a.out + static_cast<std::uint64_t>(i) * a.out_stride;
        out_i[i] = 1.f;
        dense_cosine_row<A>(out_i, norm.data(), i, n);
    }
    mirror_upper_triangle(a.out, a.out_stride, n);
}

// The cosine of rows i and j from their dot product and norms (0 where a
// norm is 0), clamped to [-1, 1]: the one formula of the sparse path.
inline float sparse_cosine(double dot, double norm_i, double norm_j) {
    const double c = (norm_i == 0.0 || norm_j == 0.0) ? 0.0 : dot / (norm_i * norm_j);
    return static_cast<float>(std::min(1.0, std::max(-1.0, c)));
}

// Row i's cosines for j in (i, n), written at (i, j) and at (j, i) of the
// matrix `out` (`stride` floats per row): sparse_cosine(dots_i[j], norm[i],
// norm[j]).  Vector backends run the same double operations lane by lane
// (the same bits), with the zero-norm lanes selected away before they
// divide.
template <class A>
inline void sparse_cosine_row(const double *dots_i, const double *norm, std::uint32_t i, std::uint32_t n, float *out,
                              std::uint64_t stride) {
    float *out_i = out + i * stride;
    const double norm_i = norm[i];
    std::uint32_t j = i + 1;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<double, A>;
        constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
        const batch vnorm_i(norm_i);
        alignas(64) double lanes[w];
        for (; j + w <= n; j += w) {
            cosine_lanes(batch::load_unaligned(dots_i + j), vnorm_i, batch::load_unaligned(norm + j))
                .store_aligned(lanes);
            for (std::uint32_t l = 0; l < w; ++l)
                out_i[j + l] = out[(j + l) * stride + i] = static_cast<float>(lanes[l]);
        }
    }
    for (; j < n; ++j) out_i[j] = out[j * stride + i] = sparse_cosine(dots_i[j], norm_i, norm[j]);
}

inline void validate_sparse_rows(const coe_similarity_args &a) {
    using sdk::status_error;
    if (a.row_offsets == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets is null");
    if (a.index_bound == 0 || a.index_bound > (1u << COE_FEATURIZE_MAX_BUCKET_BITS))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "index_bound must be in 1..2^24");
    if (a.row_offsets[0] != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets[0] is not 0");
    for (std::uint32_t i = 0; i < a.count; ++i) {
        std::uint64_t b = a.row_offsets[i], e = a.row_offsets[i + 1];
        if (e < b) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets decrease at row " + std::to_string(i));
        if (e > b && (a.indices == nullptr || a.values == nullptr))
            throw status_error(COE_ERR_INVALID_ARGUMENT, "indices or values is null");
        for (std::uint64_t k = b; k < e; ++k) {
            if (a.indices[k] >= a.index_bound)
                throw status_error(COE_ERR_INVALID_ARGUMENT, "row " + std::to_string(i) + " has index " +
                                                                 std::to_string(a.indices[k]) + " >= index_bound " +
                                                                 std::to_string(a.index_bound));
            if (k > b && a.indices[k] <= a.indices[k - 1])
                throw status_error(COE_ERR_INVALID_ARGUMENT,
                                   "row " + std::to_string(i) + " indices are not strictly increasing");
        }
    }
}

// Scratch of the sparse path, reused from call to call (grows to the
// largest call, never shrinks; the scratch_vectors are written before they
// are read).
struct SparseScratch {
    scratch_vector<std::uint64_t> postings, sorted;  // (index << 32) | entry
    scratch_vector<std::uint32_t> row_of;            // row of each entry
    scratch_vector<double> dots;                     // count x count, upper triangle
    std::vector<double> norm;
};

// Sparse rows through an inverted index: the entries of all rows sorted by
// index (a stable radix sort: rows stay in order within an index), then
// every pair of rows that shares an index adds the product of its two
// values.  Products of two floats are exact in double and each pair's sum
// runs in increasing index order, skipping only exact zero terms, so the
// result is that of a sorted merge of the two rows, bit for bit in every
// backend: the clustering that follows sees the same numbers everywhere.
// The sums are the same scalar code in every backend for that reason; only
// the element-wise division into cosines uses the backend's vectors.  The
// cost follows the pairs that share an index, never 2^bucket_bits.
template <class A>
inline void similarity_sparse(const coe_similarity_args &a) {
    validate_sparse_rows(a);
    const std::uint32_t n = a.count;
    const std::uint64_t total = a.row_offsets[n];
    if (total > UINT32_MAX)
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "more than 2^32 - 1 sparse entries in one call");
    thread_local SparseScratch scratch;
    SparseScratch &s = thread_scratch(scratch);
    s.norm.assign(n, 0.0);
    s.postings.clear();
    s.row_of.resize(memory_count(total, "sparse entries"));
    for (std::uint32_t i = 0; i < n; ++i) {
        double sq = 0.0;
        for (std::uint64_t k = a.row_offsets[i]; k < a.row_offsets[i + 1]; ++k) {
            sq += static_cast<double>(a.values[k]) * a.values[k];
            s.postings.push_back(static_cast<std::uint64_t>(a.indices[k]) << 32 | k);
            s.row_of[static_cast<std::size_t>(k)] = i;  // k < total (validated offsets)
        }
        s.norm[i] = std::sqrt(sq);
        check_finite_norm(static_cast<float>(s.norm[i]), i);
    }
    unsigned bits = 1;
    while (bits < 32 && (std::uint64_t{1} << bits) < a.index_bound) ++bits;
    radix_sort_high32(s.postings, s.sorted, bits);

    // only the upper triangle is summed into and read
    s.dots.resize(static_cast<std::size_t>(n) * n);
    for (std::uint32_t i = 0; i + 1 < n; ++i)
        std::fill_n(s.dots.data() + static_cast<std::size_t>(i) * n + i + 1, n - i - 1, 0.0);
    const scratch_vector<std::uint64_t> &p = s.postings;
    for (std::size_t run = 0; run < p.size();) {
        std::size_t end = run + 1;
        while (end < p.size() && (p[end] >> 32) == (p[run] >> 32)) ++end;
        for (std::size_t x = run; x + 1 < end; ++x) {
            const auto ex = static_cast<std::uint32_t>(p[x]);
            const double vx = a.values[ex];
            double *row = s.dots.data() + static_cast<std::size_t>(s.row_of[ex]) * n;
            for (std::size_t y = x + 1; y < end; ++y) {
                const auto ey = static_cast<std::uint32_t>(p[y]);
                row[s.row_of[ey]] += vx * a.values[ey];
            }
        }
        run = end;
    }
    // row by row over contiguous memory, each value mirrored as it is written
    for (std::uint32_t i = 0; i < n; ++i) {
        a.out[i * a.out_stride + i] = 1.f;
        sparse_cosine_row<A>(s.dots.data() + static_cast<std::size_t>(i) * n, s.norm.data(), i, n, a.out, a.out_stride);
    }
}

template <class A, int Revision = 1>
coe_status similarity(const coe_similarity_args &a) {
    static_assert(Revision == 1 || Revision == 2, "coe.similarity has revisions 1 and 2");
    using sdk::status_error;
    if (a.reserved0 != 0 || a.reserved1 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved fields must be 0");
    if (a.count == 0) return COE_OK;
    if (a.out == nullptr || a.out_stride < a.count)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "out is null or out_stride < count");
    if (a.kind == COE_VECTORS_DENSE) {
        if (a.dense == nullptr || a.dimension == 0 || a.dense_stride < a.dimension)
            throw status_error(COE_ERR_INVALID_ARGUMENT,
                               "dense input needs data, dimension >= 1 and dense_stride >= dimension");
        if constexpr (Revision == 2) similarity_dense_canonical<A>(a);
        else similarity_dense<A>(a);
    } else if (a.kind == COE_VECTORS_SPARSE) {
        similarity_sparse<A>(a);
    } else {
        throw status_error(COE_ERR_UNSUPPORTED, "unknown vector kind " + std::to_string(a.kind));
    }
    return COE_OK;
}

COE_KERNELS_END
