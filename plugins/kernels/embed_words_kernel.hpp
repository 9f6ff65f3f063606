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
#include "thread_scratch.hpp"
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
    if (t.struct_size < COE_WORD_TABLE_SIZE_1_3)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "table struct_size " + std::to_string(t.struct_size) +
                                                         " is smaller than the " +
                                                         std::to_string(COE_WORD_TABLE_SIZE_1_3) + " bytes needed");
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

// True when the n >= 2 bytes at a and b are equal, reading only those bytes
// (overlapping word loads: no call, no byte loop).
inline bool same_bytes(const unsigned char *a, const unsigned char *b, std::uint64_t n) {
    auto load = [](const unsigned char *p, auto word) {
        std::memcpy(&word, p, sizeof word);
        return word;
    };
    if (n >= 8) {
        for (std::uint64_t o = 0; o + 8 < n; o += 8)
            if (load(a + o, std::uint64_t{}) != load(b + o, std::uint64_t{})) return false;
        return load(a + n - 8, std::uint64_t{}) == load(b + n - 8, std::uint64_t{});
    }
    if (n >= 4)
        return load(a, std::uint32_t{}) == load(b, std::uint32_t{}) &&
               load(a + n - 4, std::uint32_t{}) == load(b + n - 4, std::uint32_t{});
    return load(a, std::uint16_t{}) == load(b, std::uint16_t{}) && a[n - 1] == b[n - 1];
}

// The probe of coe/ops/embed_words.h: linear probing from a token's home
// slot up to the first free slot.  A slot naming a row >= word_count, or a
// table without a free slot, is refused (a probe never loops for ever).
class WordProbe {
public:
    explicit WordProbe(const coe_word_table &t) : t_(t), mask_(t.slot_count - 1) {}

    std::uint32_t home(std::uint64_t h) const { return static_cast<std::uint32_t>(splitmix64(h)) & mask_; }
    const std::uint32_t *slot(std::uint32_t s) const { return t_.slots + 2 * static_cast<std::uint64_t>(s); }

    // From slot s on (s is updated), the first slot that is free (returns 0)
    // or holds a row with the tag of h (returns row + 1); `probes` counts the
    // slots visited by the token's probe so far.
    std::uint32_t seek(std::uint64_t h, std::uint32_t &s, std::uint32_t &probes) const {
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        for (;; s = (s + 1) & mask_) {
            if (probes++ > mask_) throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "table has no free slot");
            const std::uint32_t *entry = slot(s);
            if (entry[0] == 0) return 0;
            if (entry[0] > t_.word_count)
                throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "table slot " + std::to_string(s) + " names row " +
                                                                      std::to_string(entry[0] - 1) + " >= word_count " +
                                                                      std::to_string(t_.word_count));
            if (entry[1] == tag) return entry[0];
        }
    }

    // True when row r is the token's word (the n folded bytes at `token`).
    bool is_word(std::uint32_t r, const unsigned char *token, std::uint64_t n) const {
        const std::uint32_t begin = t_.word_offsets[r], end = t_.word_offsets[r + 1];
        return end >= begin && end - begin == n &&
               same_bytes(reinterpret_cast<const unsigned char *>(t_.words) + begin, token, n);
    }

private:
    const coe_word_table &t_;
    std::uint32_t mask_;
};

// Tokens looked up together, so that the cache misses of their lookups
// overlap: each token's home slot is prefetched as it is found, then one
// pass over the batch finds each candidate row and prefetches its offsets,
// weight and vector, a second prefetches its word, and a third checks the
// words and adds the tokens, in token order: the sums are those of a
// token-at-a-time loop.
struct TokenBatch {
    static constexpr std::size_t capacity = 32;
    const unsigned char *bytes[capacity];
    std::uint64_t length[capacity], hash[capacity];
    std::uint32_t slot[capacity], probes[capacity];
    std::uint32_t row_plus_1[capacity];  // the candidate: the first slot with the token's tag (0: none)
    std::size_t size = 0;
};

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
    return thread_scratch(folded);
}

// Prefetches the first `bytes` bytes at p (at most 512: the hardware
// prefetcher follows longer runs).
inline void prefetch_bytes(const void *p, std::uint64_t bytes) {
    const auto *c = static_cast<const char *>(p);
    for (std::uint64_t o = 0; o < std::min<std::uint64_t>(bytes, 512); o += 64) __builtin_prefetch(c + o);
}

// Looks the batch's tokens up and calls found(row) for each token that is a
// word of the table, in token order.  Empties the batch.
template <class Found>
void look_up_batch(TokenBatch &b, const WordProbe &probe, const coe_word_table &t, Found &&found) {
    const std::uint32_t dims = t.dims;
    for (std::size_t k = 0; k < b.size; ++k) {
        b.row_plus_1[k] = probe.seek(b.hash[k], b.slot[k], b.probes[k]);
        if (b.row_plus_1[k] == 0) continue;
        const std::uint32_t r = b.row_plus_1[k] - 1;
        __builtin_prefetch(t.word_offsets + r);
        __builtin_prefetch(t.weights + r);
        prefetch_bytes(t.values + static_cast<std::uint64_t>(r) * dims, sizeof(std::uint16_t) * dims);
    }
    for (std::size_t k = 0; k < b.size; ++k)
        if (b.row_plus_1[k] != 0) __builtin_prefetch(t.words + t.word_offsets[b.row_plus_1[k] - 1]);
    for (std::size_t k = 0; k < b.size; ++k) {
        std::uint32_t row_plus_1 = b.row_plus_1[k];
        while (row_plus_1 != 0 && !probe.is_word(row_plus_1 - 1, b.bytes[k], b.length[k])) {
            b.slot[k] = (b.slot[k] + 1) & (t.slot_count - 1);  // another word with the same tag: probe on
            row_plus_1 = probe.seek(b.hash[k], b.slot[k], b.probes[k]);
        }
        if (row_plus_1 != 0) found(row_plus_1 - 1);
    }
    b.size = 0;
}

// Calls found(row) for each token of the text that is a word of the table,
// in token order.  Vector: the tokeniser's vector form (the same spans).
template <bool Vector, class Found>
void find_words(const unsigned char *text, std::uint64_t length, const WordProbe &probe, const coe_word_table &table,
                std::vector<unsigned char> &folded, TokenBatch &batch, Found &&found) {
    // the spans of one text stay valid (in `folded`) until its last batch is looked up
    token_spans<Vector>(text, length, folded, [&](const unsigned char *t, std::uint64_t n) {
        if (n < 2) return;
        std::uint64_t high = 0;
        const std::uint64_t h = block_hash(t, n, high);
        const std::size_t k = batch.size++;
        batch.bytes[k] = t;
        batch.length[k] = n;
        batch.hash[k] = h;
        batch.slot[k] = probe.home(h);
        batch.probes[k] = 0;
        __builtin_prefetch(probe.slot(batch.slot[k]));
        if (batch.size == TokenBatch::capacity) look_up_batch(batch, probe, table, found);
    });
    look_up_batch(batch, probe, table, found);
}

template <class A>
coe_status embed_words(coe_embed_words_args &a) {
    validate_embed_words(a);
    const coe_word_table &table = *a.table;
    const std::uint32_t dims = table.dims;
    const WordProbe probe(table);
    std::vector<unsigned char> &folded = embed_words_scratch();
    TokenBatch batch;
    for (std::uint32_t i = 0; i < a.text_count; ++i) {
        float *row = a.vectors + static_cast<std::uint64_t>(i) * a.vector_stride;
        std::fill(row, row + dims, 0.f);
        std::uint32_t known = 0;
        find_words<!is_scalar_v<A>>(reinterpret_cast<const unsigned char *>(a.texts[i]), a.text_lengths[i], probe,
                                    table, folded, batch, [&](std::uint32_t r) {
                                        ++known;
                                        const float w = table.weights[r];
                                        // weight 0 drops the word: adding its products (+-0) would
                                        // leave every lane as it is (a lane is never -0)
                                        if (w != 0.f)
                                            add_weighted<A>(row, table.values + static_cast<std::uint64_t>(r) * dims, w,
                                                            dims);
                                    });
        normalise_row(row, dims);
        if (a.known_words != nullptr) a.known_words[i] = known;
    }
    return COE_OK;
}

COE_KERNELS_END
