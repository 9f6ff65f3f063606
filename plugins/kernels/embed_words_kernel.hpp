// embed_words_kernel.hpp - coe.embed_words/1: texts to unit vectors, the
// weighted sum of the pretrained vectors of the words each text contains,
// looked up in a caller-owned table (coe/ops/embed_words.h).
//
// Tokens are coe.featurize/2's without stop words or stemming: the same
// token spans (text_tokens.hpp) and the same block hash (token_hash.hpp).
// The sum runs lane by lane in float, a product rounded to float and then a
// sum rounded to float (the build forbids contraction and no FMA is used);
// lanes never mix, so a vector backend gives the scalar loop's bits whatever
// its width, tail included.  binary16 values are widened exactly: F16C in the
// vector backends, integer code in the scalar one.  The norm is one scalar
// loop in double, in lane order, the same in every backend.  Results are
// accumulated in the caller's output row itself; the only scratch is the
// tokeniser's folded text, kept per thread, so a steady stream of calls
// allocates nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <xsimd/xsimd.hpp>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "similarity_kernel.hpp"  // scalar_arch, is_scalar_v
#include "text_tokens.hpp"
#include "token_hash.hpp"

COE_KERNELS_BEGIN

constexpr std::uint32_t embed_words_max_dims = 4096;

// binary16 to binary32, exact (a NaN is quieted, as F16C does; its payload
// is kept).
inline float widen_half(std::uint16_t half) {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    const std::uint32_t rest = half & 0x7fffu;
    std::uint32_t bits;
    if (rest > 0x7c00u) {  // NaN
        bits = sign | 0x7fc00000u | ((rest & 0x3ffu) << 13);
    } else if (rest >= 0x0400u) {  // normal, or infinity: the exponent rebiased by 127 - 15 (infinity: to 255)
        bits = sign | (rest == 0x7c00u ? 0x7f800000u : (rest << 13) + 0x38000000u);
    } else {  // zero or subnormal: rest units of 2^-24, exact in float
        const float magnitude = static_cast<float>(rest) * 0x1p-24f;
        std::memcpy(&bits, &magnitude, sizeof bits);
        bits |= sign;
    }
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

inline void validate_embed_words(const coe_embed_words_args &a) {
    using sdk::status_error;
    if (a.text_count > 0 && (a.texts == nullptr || a.text_lengths == nullptr))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "texts or text_lengths is null");
    if (a.table == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "table is null");
    const coe_word_table &t = *a.table;
    if (t.struct_size < sizeof(coe_word_table))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "table struct_size " + std::to_string(t.struct_size) +
                                                         " is smaller than the " +
                                                         std::to_string(sizeof(coe_word_table)) + " bytes needed");
    if (t.dims < 1 || t.dims > embed_words_max_dims)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "table dims " + std::to_string(t.dims) + " is outside 1..4096");
    if (t.slot_count == 0 || (t.slot_count & (t.slot_count - 1)) != 0 || t.slot_count <= t.word_count)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "table slot_count " + std::to_string(t.slot_count) +
                                                         " is not a power of two above word_count " +
                                                         std::to_string(t.word_count));
    if (t.slots == nullptr || t.word_offsets == nullptr ||
        (t.word_count > 0 && (t.words == nullptr || t.weights == nullptr || t.values == nullptr)))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "table slots, word_offsets, words, weights or values is null");
    if (a.vector_stride < t.dims)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "vector_stride " + std::to_string(a.vector_stride) +
                                                         " is smaller than dims " + std::to_string(t.dims));
    if (a.text_count > 0 && a.vectors == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "vectors is null");
    for (std::uint32_t i = 0; i < a.text_count; ++i)
        if (a.texts[i] == nullptr && a.text_lengths[i] != 0)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "text " + std::to_string(i) + " is null");
}

// The row of the token (its n folded bytes at `token`, its block hash h),
// or -1: linear probing from the home slot, up to the first free slot.  A
// slot naming a row >= word_count, or a table without a free slot, is
// refused (a probe never loops for ever).
inline std::int64_t find_word_row(const coe_word_table &t, const unsigned char *token, std::uint64_t n,
                                  std::uint64_t h) {
    const std::uint32_t mask = t.slot_count - 1, tag = static_cast<std::uint32_t>(h >> 32);
    std::uint32_t s = static_cast<std::uint32_t>(splitmix64(h)) & mask;
    for (std::uint32_t probes = 0; probes <= mask; ++probes, s = (s + 1) & mask) {
        const std::uint32_t row_plus_1 = t.slots[2 * static_cast<std::uint64_t>(s)];
        if (row_plus_1 == 0) return -1;
        if (row_plus_1 > t.word_count)
            throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "table slot " + std::to_string(s) + " names row " +
                                                                  std::to_string(row_plus_1 - 1) + " >= word_count " +
                                                                  std::to_string(t.word_count));
        if (t.slots[2 * static_cast<std::uint64_t>(s) + 1] != tag) continue;
        const std::uint32_t r = row_plus_1 - 1, begin = t.word_offsets[r], end = t.word_offsets[r + 1];
        if (end >= begin && end - begin == n && std::memcmp(t.words + begin, token, n) == 0) return r;
    }
    throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "table has no free slot");
}

// acc[d] = acc[d] + w * v[d] for d < dims, each lane rounded twice (product,
// then sum).  Returns the lanes done with vectors; the caller does the rest
// one at a time.
template <class A>
inline std::uint32_t add_weighted_vectors([[maybe_unused]] float *acc, [[maybe_unused]] const std::uint16_t *v,
                                          [[maybe_unused]] float w, [[maybe_unused]] std::uint32_t dims) {
    std::uint32_t d = 0;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        const batch weight(w);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
        if constexpr (batch::size == 16) {
            for (; d + 16 <= dims; d += 16) {
                // maskz with every lane set: the plain vcvtph2ps, without the
                // "undefined" register that GCC 12 warns about in _mm512_cvtph_ps
                const batch x(
                    _mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(v + d))));
                (batch::load_unaligned(acc + d) + weight * x).store_unaligned(acc + d);
            }
            if (d < dims) {  // the tail, masked: lanes past dims are neither read nor written
                const auto k = static_cast<__mmask16>((1u << (dims - d)) - 1u);
                const batch x(_mm512_maskz_cvtph_ps(k, _mm256_maskz_loadu_epi16(k, v + d)));
                const batch sum = batch(_mm512_maskz_loadu_ps(k, acc + d)) + weight * x;
                _mm512_mask_storeu_ps(acc + d, k, sum);
                d = dims;
            }
        }
#endif
#if defined(__F16C__)
        if constexpr (batch::size == 8) {
            for (; d + 8 <= dims; d += 8) {
                const batch x(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(v + d))));
                (batch::load_unaligned(acc + d) + weight * x).store_unaligned(acc + d);
            }
            if (d < dims) {  // the tail: halves copied out, floats through a lane mask
                alignas(16) std::uint16_t halves[8] = {};
                std::memcpy(halves, v + d, sizeof(std::uint16_t) * (dims - d));
                alignas(32) static constexpr std::int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                                       0,  0,  0,  0,  0,  0,  0,  0};
                const __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(lanes + 8 - (dims - d)));
                const batch x(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(halves))));
                const batch sum = batch(_mm256_maskload_ps(acc + d, k)) + weight * x;
                _mm256_maskstore_ps(acc + d, k, sum);
                d = dims;
            }
        }
#endif
    }
    return d;
}

template <class A>
inline void add_weighted(float *acc, const std::uint16_t *v, float w, std::uint32_t dims) {
    for (std::uint32_t d = add_weighted_vectors<A>(acc, v, w, dims); d < dims; ++d) {
        const float product = w * widen_half(v[d]);
        acc[d] = acc[d] + product;
    }
}

// out[d] = (float)((double)acc[d] / norm), norm summed in double in lane
// order; all zero when the norm is 0.  In place.
inline void normalise_row(float *row, std::uint32_t dims) {
    double sum = 0.0;
    for (std::uint32_t d = 0; d < dims; ++d) {
        const double x = row[d];
        const double square = x * x;
        sum = sum + square;
    }
    const double norm = std::sqrt(sum);
    if (norm == 0.0) {
        std::fill(row, row + dims, 0.f);
        return;
    }
    for (std::uint32_t d = 0; d < dims; ++d) row[d] = static_cast<float>(static_cast<double>(row[d]) / norm);
}

inline std::vector<unsigned char> &embed_words_scratch() {
    thread_local std::vector<unsigned char> folded;  // the current text, folded (grows, never shrinks)
    return folded;
}

template <class A>
coe_status embed_words(coe_embed_words_args &a) {
    validate_embed_words(a);
    const coe_word_table &table = *a.table;
    const std::uint32_t dims = table.dims;
    std::vector<unsigned char> &folded = embed_words_scratch();
    for (std::uint32_t i = 0; i < a.text_count; ++i) {
        float *row = a.vectors + static_cast<std::uint64_t>(i) * a.vector_stride;
        std::fill(row, row + dims, 0.f);
        std::uint32_t known = 0;
        const auto *text = reinterpret_cast<const unsigned char *>(a.texts[i]);
        token_spans<!is_scalar_v<A>>(text, a.text_lengths[i], folded, [&](const unsigned char *t, std::uint64_t n) {
            if (n < 2) return;
            std::uint64_t high = 0;
            const std::int64_t r = find_word_row(table, t, n, block_hash(t, n, high));
            if (r < 0) return;
            ++known;
            const float w = table.weights[r];
            // weight 0 drops the word: adding its products (+-0) would leave
            // every lane as it is (a lane is never -0)
            if (w == 0.f) return;
            add_weighted<A>(row, table.values + static_cast<std::uint64_t>(r) * dims, w, dims);
        });
        normalise_row(row, dims);
        if (a.known_words != nullptr) a.known_words[i] = known;
    }
    return COE_OK;
}

COE_KERNELS_END
