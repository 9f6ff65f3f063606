// text_tokens.hpp - tokens of coe.featurize: which bytes belong to a token,
// ASCII case folding, stop words and stemming, and the two revisions'
// tokenisers.  Both emit, per text, the hash of every kept token in order.
//
// Revision 1 walks the text a byte at a time (FNV-1a is byte-serial).
// Revision 2 classifies and folds 64 bytes per step with the backend's
// widest vectors, finds token boundaries from the resulting bit masks and
// hashes eight bytes per step, deciding stop words and suffixes of tokens up
// to eight bytes without branches; its scalar path computes the same masks
// one byte at a time, so every backend produces the same tokens and hashes.
// kept_token_hashes.hpp drives it, and with AVX2 or AVX-512 hashes four or
// eight tokens per step in vector lanes.
// coe.embed_words/1 walks the same token spans (token_spans) as revision 2.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512BW__)
#include <immintrin.h>
#elif defined(__SSE2__) && defined(__wasm_simd128__)
#include <emmintrin.h>
#endif

#include "coe/coe_plugin.h"
#include "kernel_namespace.hpp"
#include "memory_count.hpp"
#include "stop_words.hpp"
#include "token_hash.hpp"

COE_KERNELS_BEGIN

// fold_table[c]: 0 for a byte outside tokens, else the byte folded to lower
// case (ASCII letters) or unchanged (digits, bytes >= 0x80).
constexpr std::array<unsigned char, 256> make_fold_table() {
    std::array<unsigned char, 256> t{};
    for (unsigned c = 0; c < 256; ++c) {
        if (c >= 'A' && c <= 'Z') t[c] = static_cast<unsigned char>(c + ('a' - 'A'));
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) t[c] = static_cast<unsigned char>(c);
    }
    return t;
}
constexpr std::array<unsigned char, 256> fold_table = make_fold_table();

// Light suffix stripping of a folded ASCII token, so that inflections meet:
// retry/retries/retried/retrying -> "retr", charge/charges/charged ->
// "charg", failure/failures -> "failur".  Strips at most one of -ies/-ied,
// -ing, -ed, -es, -s (not -ss/-us/-is), then one final -e or -y; never leaves
// fewer than three letters.  Returns how many bytes of the token to keep.
//
// This form takes a token of 1 <= n <= 8 bytes held in w (byte i of the
// token in bits 8i..8i+7, zero above n) and decides without branches: the
// stop-word and suffix tests come out either way at random in text, and a
// mispredicted branch costs more than computing every case.
inline std::uint64_t stemmed_length_short(std::uint64_t w, std::uint64_t n) {
    const std::uint64_t x = w << (8 * (8 - n));  // the token's last byte in the top byte
    const auto last = static_cast<std::uint32_t>(x >> 56), last2 = static_cast<std::uint32_t>(x >> 48),
               last3 = static_cast<std::uint32_t>(x >> 40);  // earliest byte lowest
    constexpr auto two = [](char a, char b) {
        return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b) << 8;
    };
    constexpr auto three = [](char a, char b, char c) {
        return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b) << 8 | static_cast<std::uint32_t>(c) << 16;
    };
    const bool cut3 =
        (n > 5) & ((last3 == three('i', 'e', 's')) | (last3 == three('i', 'e', 'd')) | (last3 == three('i', 'n', 'g')));
    const bool cut2 = !cut3 & (n > 4) & ((last2 == two('e', 'd')) | (last2 == two('e', 's')));
    const bool cut1 =
        !cut3 & !cut2 & (last == 's') & (last2 != two('s', 's')) & (last2 != two('u', 's')) & (last2 != two('i', 's'));
    std::uint64_t k = n - 3 * static_cast<std::uint64_t>(cut3) - 2 * static_cast<std::uint64_t>(cut2) -
                      static_cast<std::uint64_t>(cut1);
    // k is 0 only for a one-byte "s", whose result the last line discards:
    // the & 7 keeps that shift defined
    const auto end = static_cast<std::uint32_t>((w >> (8 * ((k - 1) & 7))) & 0xFF);
    k -= static_cast<std::uint64_t>((k > 3) & ((end == 'e') | (end == 'y')));
    return k + static_cast<std::uint64_t>(n <= 3) * (n - k);  // tokens of three bytes or fewer keep them all
}

// The same for a token of n bytes at t, of any length: the rules read only
// the last four bytes and the byte before the cut, all within the last
// eight, and every length test holds past eight bytes.
inline std::size_t stemmed_length(const unsigned char *t, std::size_t n) {
    if (n <= 3) return n;
    // stemmed_length_short returns at most its n (<= 8)
    if (n > 8) return n - 8 + static_cast<std::size_t>(stemmed_length_short(load_le64(t + n - 8), 8));
    std::uint64_t w = 0;
    std::memcpy(&w, t, n);  // little-endian, as load_le64
    return static_cast<std::size_t>(stemmed_length_short(w, n));
}

// ---------------------------------------------------------------- revision 1

// Calls token(h) with the FNV-1a hash of every kept token of the text, in
// order.  `folded` is scratch of at least `length` bytes.
template <class Token>
inline void tokens_fnv1a(const unsigned char *p, std::uint64_t length, std::uint32_t flags, unsigned char *folded,
                         Token &&token) {
    std::uint64_t i = 0;
    while (i < length) {
        if (fold_table[p[i]] == 0) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        unsigned char high = 0;
        for (; i < length; ++i) {
            const unsigned char f = fold_table[p[i]];
            if (f == 0) break;
            folded[n++] = f;
            high |= f;
        }
        if (n < 2) continue;
        const std::size_t keep = ((flags & COE_FEATURIZE_STEM) && high < 0x80) ? stemmed_length(folded, n) : n;
        const std::uint64_t h = fnv1a(folded, keep);
        if ((flags & COE_FEATURIZE_STOP_WORDS) && n <= stop_word_max_length &&
            stop_words_fnv1a.contains(fnv1a(folded + keep, n - keep, h)))
            continue;
        token(h);
    }
}

// ---------------------------------------------------------------- revision 2

// Classifies the 64 bytes at p: returns bit i set when byte i belongs to a
// token, and stores the 64 bytes, folded, at out.  Bytes outside tokens may
// be stored as anything.  `Vector` false: the portable byte loop.
template <bool Vector>
inline std::uint64_t classify64(const unsigned char *p, unsigned char *out) {
#if defined(__AVX512BW__)
    if constexpr (Vector) {
        const __m512i c = _mm512_loadu_si512(p);
        const __m512i lower = _mm512_or_si512(c, _mm512_set1_epi8(0x20));
        const __mmask64 alpha =
            _mm512_cmple_epu8_mask(_mm512_sub_epi8(lower, _mm512_set1_epi8('a')), _mm512_set1_epi8(25));
        const __mmask64 digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(c, _mm512_set1_epi8('0')), _mm512_set1_epi8(9));
        const __mmask64 high = _mm512_movepi8_mask(c);
        _mm512_storeu_si512(out, _mm512_mask_blend_epi8(alpha, c, lower));
        return static_cast<std::uint64_t>(alpha | digit | high);
    }
#elif defined(__AVX2__)
    if constexpr (Vector) {
        std::uint64_t mask = 0;
        for (int half = 0; half < 2; ++half) {
            const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 32 * half));
            const __m256i lower = _mm256_or_si256(c, _mm256_set1_epi8(0x20));
            const __m256i ta = _mm256_sub_epi8(lower, _mm256_set1_epi8('a'));
            const __m256i alpha = _mm256_cmpeq_epi8(_mm256_min_epu8(ta, _mm256_set1_epi8(25)), ta);
            const __m256i td = _mm256_sub_epi8(c, _mm256_set1_epi8('0'));
            const __m256i digit = _mm256_cmpeq_epi8(_mm256_min_epu8(td, _mm256_set1_epi8(9)), td);
            const __m256i token = _mm256_or_si256(_mm256_or_si256(alpha, digit), c);  // top bit: token byte
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 32 * half),
                                _mm256_or_si256(c, _mm256_and_si256(alpha, _mm256_set1_epi8(0x20))));
            mask |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(token))) << (32 * half);
        }
        return mask;
    }
#elif defined(__SSE2__) && defined(__wasm_simd128__)
    // WebAssembly SIMD (emscripten maps each of these to one simd128
    // instruction); the same steps as AVX2, 16 bytes at a time.  x86 builds
    // without AVX2 are the scalar reference, which never asks for Vector.
    if constexpr (Vector) {
        std::uint64_t mask = 0;
        for (int part = 0; part < 4; ++part) {
            const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 16 * part));
            const __m128i lower = _mm_or_si128(c, _mm_set1_epi8(0x20));
            const __m128i ta = _mm_sub_epi8(lower, _mm_set1_epi8('a'));
            const __m128i alpha = _mm_cmpeq_epi8(_mm_min_epu8(ta, _mm_set1_epi8(25)), ta);
            const __m128i td = _mm_sub_epi8(c, _mm_set1_epi8('0'));
            const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(td, _mm_set1_epi8(9)), td);
            const __m128i token = _mm_or_si128(_mm_or_si128(alpha, digit), c);  // top bit: token byte
            _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 16 * part),
                             _mm_or_si128(c, _mm_and_si128(alpha, _mm_set1_epi8(0x20))));
            mask |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(token)) & 0xffffu)
                    << (16 * part);
        }
        return mask;
    }
#endif
    std::uint64_t mask = 0;
    for (int i = 0; i < 64; ++i) {
        const unsigned char f = fold_table[p[i]];
        out[i] = f;
        mask |= static_cast<std::uint64_t>(f != 0) << i;
    }
    return mask;
}

// Stores at *out the hash (revision 2) of the token of n >= 1 folded bytes at
// t and returns out + 1 when the token is kept, out when it is dropped (one
// byte long, or a stop word).  Tokens of up to eight bytes, most words, take
// no data-dependent branch.
inline std::uint64_t *kept_token_hash(const unsigned char *t, std::uint64_t n, std::uint32_t flags,
                                      std::uint64_t *out) {
    const bool stop_words = (flags & COE_FEATURIZE_STOP_WORDS) != 0, stem = (flags & COE_FEATURIZE_STEM) != 0;
    if (n <= 8) {
        const std::uint64_t w = load_le64(t) & (~0ull >> (64 - 8 * n));
        const std::uint64_t full = block_hash_step(block_hash_seed(n), w);
        const bool stop = stop_words & stop_words_block_hash.contains(full);
        const std::uint64_t keep = (stem & ((w & 0x8080808080808080ull) == 0)) ? stemmed_length_short(w, n) : n;
        *out = block_hash_step(block_hash_seed(keep), w & (~0ull >> (64 - 8 * keep)));
        return out + ((n >= 2) & !stop);
    }
    std::uint64_t high = 0;
    const std::uint64_t full = block_hash(t, n, high);
    if (stop_words && n <= stop_word_max_length && stop_words_block_hash.contains(full)) return out;
    std::uint64_t h = full;
    if (stem && high == 0) {
        const std::size_t keep = stemmed_length(t, static_cast<std::size_t>(n));  // a token in memory
        if (keep != n) h = block_hash(t, keep, high);
    }
    *out = h;
    return out + 1;
}

// Folds the text into `folded_text` (scratch, resized here: 64-byte blocks
// plus padding, so the 8 bytes from any token byte onwards are readable and
// a token's hash can read whole words and mask off what lies past it) and
// calls boundaries(base, starts, ends) for each block of 64 bytes at `base`:
// bit i of `starts` set where a run of token bytes begins at base + i, of
// `ends` where one ended just before it.  Returns true when the text ends
// inside a run (its end is then `length`).
template <bool Vector, class Boundaries>
inline bool token_boundaries(const unsigned char *p, std::uint64_t length, std::vector<unsigned char> &folded_text,
                             Boundaries &&boundaries) {
    const std::uint64_t blocks = (length + 63) / 64;
    if (folded_text.size() < blocks * 64 + 64) folded_text.resize(memory_count(blocks * 64 + 64, "text length"));
    unsigned char *folded = folded_text.data();
    std::uint64_t carry = 0;  // 1 when the byte before this block is a token byte
    for (std::uint64_t b = 0; b < blocks; ++b) {
        const std::uint64_t base = b * 64;
        std::uint64_t m;
        if (base + 64 <= length) {
            m = classify64<Vector>(p + base, folded + base);
        } else {
            unsigned char tail[64] = {};                                           // zero bytes are outside tokens
            std::memcpy(tail, p + base, static_cast<std::size_t>(length - base));  // < 64
            m = classify64<Vector>(tail, folded + base);
        }
        const std::uint64_t before = (m << 1) | carry;
        boundaries(base, m & ~before, ~m & before);  // never the same bit
        carry = m >> 63;
    }
    return carry != 0;
}

// Calls span(t, n) with every maximal run of token bytes of the text, in
// order: its n >= 1 folded bytes at t (runs of one byte included; the
// callers drop them), as soon as the block holding its end is classified.
// Shared by coe.featurize/2 and coe.embed_words/1, so both see the same
// tokens.
template <bool Vector, class Span>
inline void token_spans(const unsigned char *p, std::uint64_t length, std::vector<unsigned char> &folded_text,
                        Span &&span) {
    std::uint64_t start = 0;  // of the token in progress
    const bool open = token_boundaries<Vector>(
        p, length, folded_text, [&](std::uint64_t base, std::uint64_t starts, std::uint64_t ends) {
            for (std::uint64_t events = starts | ends; events; events &= events - 1) {
                const std::uint64_t bit = events & (0 - events);
                const std::uint64_t at = base + static_cast<std::uint64_t>(__builtin_ctzll(events));
                if (starts & bit) start = at;
                else span(folded_text.data() + start, at - start);
            }
        });
    if (open) span(folded_text.data() + start, length - start);
}

COE_KERNELS_END
