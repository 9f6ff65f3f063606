// kept_token_hashes.hpp - coe.featurize/2's tokens, from a text to the block
// hashes of its kept tokens, in order.
//
// Two ways to the same hashes.  The portable one hashes each token as its
// span is found (kept_token_hash, text_tokens.hpp).  The AVX2 and AVX-512
// backends first list every token's start and end from the classification
// masks (two bit scans per block, no branch on the kind of boundary), then
// take four (AVX2) or eight (AVX-512 F + DQ) tokens per step in 64-bit
// lanes: the token's word is gathered, masked to its length and hashed, the
// stop-word table is probed with two gathers, and the suffix rules run as
// lane compares - the same integer operations as kept_token_hash, so the
// same bits.  Tokens longer than eight bytes (a multi-block hash) are handed
// to kept_token_hash one by one and put in their places in the output order.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "coe/coe_plugin.h"
#include "kernel_namespace.hpp"
#include "memory_count.hpp"
#include "stop_words.hpp"
#include "text_tokens.hpp"
#include "token_hash.hpp"

COE_KERNELS_BEGIN

// Per-thread scratch of the tokeniser (grows to the longest text, never
// shrinks).
struct TokenScratch {
    std::vector<unsigned char> folded;  // the current text, folded, plus padding for word reads
    // the lane path: each token's span in `folded`, the tokens longer than
    // eight bytes, and per step of lanes the mask of kept tokens
    std::vector<std::uint64_t> starts, ends, long_tokens;
    std::vector<std::uint8_t> kept;
};

#if defined(__AVX2__)

#if defined(__AVX512F__) && defined(__AVX512DQ__)
constexpr std::size_t token_lanes = 8;
#else
constexpr std::size_t token_lanes = 4;
#endif

// Tokens per step, as GCC vector types (lowered to the ISA's instructions:
// 64-bit multiplies are one instruction with AVX-512 DQ, three 32-bit ones
// with AVX2); intrinsics only where there is no operator.
using token_lane_words = std::uint64_t __attribute__((vector_size(8 * token_lanes)));

// Lane l of the result: the 64-bit word at base + Scale * index[l].
template <int Scale>
inline token_lane_words gather_lanes(const token_lane_words &index, const void *base) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    return reinterpret_cast<token_lane_words>(
        _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), 0xFF, reinterpret_cast<__m512i>(index), base, Scale));
#else
    return reinterpret_cast<token_lane_words>(
        _mm256_mask_i64gather_epi64(_mm256_setzero_si256(), static_cast<const long long *>(base),
                                    reinterpret_cast<__m256i>(index), _mm256_set1_epi64x(-1), Scale));
#endif
}

// Bit l set where lane l of `test` (0 or 1) is 1.
inline unsigned lane_bits(const token_lane_words &test) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    return _mm512_test_epi64_mask(reinterpret_cast<__m512i>(test), reinterpret_cast<__m512i>(test));
#else
    return static_cast<unsigned>(_mm256_movemask_pd(reinterpret_cast<__m256d>(test << 63)));
#endif
}

// Writes at out the lanes of `words` whose bit is set in `bits`, in order,
// and returns how many; out has room for a whole step.
inline std::size_t compress_lanes(const token_lane_words &words, unsigned bits, std::uint64_t *out) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    _mm512_storeu_si512(out,
                        _mm512_maskz_compress_epi64(static_cast<__mmask8>(bits), reinterpret_cast<__m512i>(words)));
    return static_cast<std::size_t>(__builtin_popcount(bits));
#else
    std::size_t kept = 0;  // a store per lane, the cursor moves only past kept ones: no branch
    for (unsigned l = 0; l < token_lanes; ++l) {
        out[kept] = words[l];
        kept += (bits >> l) & 1;
    }
    return kept;
#endif
}

// Hashes the `count` tokens whose spans are s.starts[i]..s.ends[i] in
// s.folded (both arrays zero for a step past count) and writes the kept ones
// at out, in order; returns the new end of out.  out has room for count +
// token_lanes hashes.  Three passes, none with a branch that depends on the
// text: every token's one-block hash and kept bit, with the long tokens
// listed on the side; the long tokens' hashes put in their places; the kept
// hashes moved down in place.
inline std::uint64_t *kept_token_hashes_in_lanes(TokenScratch &s, std::size_t count, std::uint32_t flags,
                                                 std::uint64_t *out) {
    using lanes = token_lane_words;
    constexpr std::size_t width = token_lanes;
    if (s.long_tokens.size() < count + width) s.long_tokens.resize(count + width);
    if (s.kept.size() < count / width + 1) s.kept.resize(count / width + 1);
    const unsigned char *const folded = s.folded.data();
    const std::uint64_t *const starts = s.starts.data(), *const ends = s.ends.data();
    std::uint64_t *const long_tokens = s.long_tokens.data();
    std::uint8_t *const kept = s.kept.data();
    std::size_t long_count = 0;

    const auto low_bytes = [](const lanes &k) { return ~lanes{} >> ((8 - k) * 8); };  // the low 8k bits, 1 <= k <= 8
    const auto hash_one_block = [](const lanes &length, const lanes &w) {
        return block_hash_step_of(block_hash_seed_of(length), w);
    };
    constexpr auto bytes = [](const char *text) {  // earliest byte lowest, as the suffix tests read them
        std::uint64_t v = 0;
        for (int i = 0; text[i] != 0; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[i])) << (8 * i);
        return v;
    };
    const auto one_if = [](const auto &test) { return reinterpret_cast<lanes>(test) & 1; };  // compares give 0 or ~0
    const bool stop_words = (flags & COE_FEATURIZE_STOP_WORDS) != 0, stem = (flags & COE_FEATURIZE_STEM) != 0;

    // 1. a step of tokens at a time
    for (std::size_t i = 0; i < count; i += width) {
        lanes start, end_at;
        std::memcpy(&start, starts + i, sizeof start);
        std::memcpy(&end_at, ends + i, sizeof end_at);
        const lanes n = end_at - start;                                     // 0 past count
        const lanes n8 = n > 8 ? lanes{} + 8 : (n == 0 ? lanes{} + 1 : n);  // the first block's bytes, >= 1
        const lanes word = gather_lanes<1>(start, folded) & low_bytes(n8);
        const lanes full = hash_one_block(n8, word);

        lanes stop{};
        if (stop_words) {
            const lanes slot = stop_word_slot(full);
            const auto *table = stop_words_block_hash.slots.data();
            stop = one_if((gather_lanes<8>(slot, table) == full) | (gather_lanes<8>(slot + 1, table) == full));
        }

        lanes keep = n8;  // stemmed_length_short, lane by lane
        if (stem) {
            const lanes x = word << ((8 - n8) * 8);  // the token's last byte in the top byte
            const lanes last = x >> 56, last2 = x >> 48, last3 = x >> 40;
            const lanes cut3 =
                one_if(n8 > 5) & one_if((last3 == bytes("ies")) | (last3 == bytes("ied")) | (last3 == bytes("ing")));
            const lanes cut2 = (cut3 ^ 1) & one_if(n8 > 4) & one_if((last2 == bytes("ed")) | (last2 == bytes("es")));
            const lanes cut1 = (cut3 ^ 1) & (cut2 ^ 1) & one_if(last == 's') &
                               one_if((last2 != bytes("ss")) & (last2 != bytes("us")) & (last2 != bytes("is")));
            lanes k = n8 - 3 * cut3 - 2 * cut2 - cut1;
            const lanes end = (word >> (((k - 1) & 7) * 8)) & 0xFF;
            k -= one_if(k > 3) & one_if((end == 'e') | (end == 'y'));
            k = n8 <= 3 ? n8 : k;                                 // three bytes or fewer: kept whole
            keep = (word & 0x8080808080808080ull) == 0 ? k : n8;  // only ASCII tokens are stemmed
        }
        const lanes hash = hash_one_block(keep, word & low_bytes(keep));
        std::memcpy(out + i, &hash, sizeof hash);
        kept[i / width] = static_cast<std::uint8_t>(lane_bits(one_if(n >= 2) & (stop ^ 1)));
        lanes index{};
        for (unsigned l = 0; l < width; ++l) index[l] = i + l;
        long_count += compress_lanes(index, lane_bits(one_if(n > 8)), long_tokens + long_count);
    }
    // 2. the long tokens' hashes, one by one, into their places
    for (std::size_t j = 0; j < long_count; ++j) {
        const std::uint64_t t = long_tokens[j];
        std::uint64_t hash = 0;  // left as is when the token is dropped
        const bool keep = kept_token_hash(folded + starts[t], ends[t] - starts[t], flags, &hash) != &hash;
        out[t] = hash;
        kept[t / width] = static_cast<std::uint8_t>((kept[t / width] & ~(1u << (t % width))) |
                                                    static_cast<unsigned>(keep) << (t % width));
    }
    // 3. the kept hashes moved down in place, a step at a time: the store at
    //    `to` <= i covers at most the lanes just read
    std::uint64_t *to = out;
    for (std::size_t i = 0; i < count; i += width) {
        lanes hash;
        std::memcpy(&hash, out + i, sizeof hash);
        to += compress_lanes(hash, kept[i / width], to);
    }
    return to;
}

#endif

// Writes the block hash of every kept token of the text, in order, into
// `hashes` (resized to hold them all) and returns how many there are.
template <bool Vector>
inline std::size_t kept_token_hashes(const unsigned char *p, std::uint64_t length, std::uint32_t flags,
                                     TokenScratch &scratch, std::vector<std::uint64_t> &hashes) {
    const std::uint64_t most = length / 2 + 1;  // tokens are separated: at most one per two bytes
    if (hashes.size() < most + 8)
        hashes.resize(memory_count(most + 8, "text length"));  // + the lane path's last full step
    std::uint64_t *const first = hashes.data();
    std::uint64_t *out = first;
#if defined(__AVX2__)
    if constexpr (Vector) {
        if (scratch.starts.size() < most + token_lanes) {
            scratch.starts.resize(most + token_lanes);
            scratch.ends.resize(most + token_lanes);
        }
        std::uint64_t *const starts = scratch.starts.data(), *const ends = scratch.ends.data();
        std::size_t started = 0, ended = 0;  // two scans per block: no branch on the kind of boundary
        const bool open = token_boundaries<Vector>(
            p, length, scratch.folded, [&](std::uint64_t base, std::uint64_t block_starts, std::uint64_t block_ends) {
                for (; block_starts; block_starts &= block_starts - 1)
                    starts[started++] = base + static_cast<std::uint64_t>(__builtin_ctzll(block_starts));
                for (; block_ends; block_ends &= block_ends - 1)
                    ends[ended++] = base + static_cast<std::uint64_t>(__builtin_ctzll(block_ends));
            });
        if (open) ends[ended++] = length;
        const std::size_t count = ended;
        for (std::size_t l = 0; l < token_lanes; ++l) starts[count + l] = ends[count + l] = 0;  // an empty token
        out = kept_token_hashes_in_lanes(scratch, count, flags, out);
        return static_cast<std::size_t>(out - first);
    }
#endif
    token_spans<Vector>(p, length, scratch.folded,
                        [&](const unsigned char *t, std::uint64_t n) { out = kept_token_hash(t, n, flags, out); });
    return static_cast<std::size_t>(out - first);
}

COE_KERNELS_END
