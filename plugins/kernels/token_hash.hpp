// token_hash.hpp - the hashes of coe.featurize: 64-bit FNV-1a over a token's
// folded bytes (revision 1, one byte per step) and the block hash of
// revision 2 (eight bytes per step), plus the splitmix64 finaliser that turns
// either into a bucket.  Every function is constexpr, so the stop-word tables
// are built at compile time (no static initialiser runs at load).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

constexpr std::uint64_t fnv1a_offset = 0xcbf29ce484222325ull;
constexpr std::uint64_t fnv1a_prime = 0x100000001b3ull;

constexpr std::uint64_t fnv1a(const unsigned char *p, std::size_t n, std::uint64_t h = fnv1a_offset) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= fnv1a_prime;
    }
    return h;
}

constexpr std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = fnv1a_offset;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= fnv1a_prime;
    }
    return h;
}

constexpr std::uint64_t splitmix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

// Revision 2: h = 0x9E3779B97F4A7C15 ^ (length * 0xC2B2AE3D27D4EB4F); then for
// each 8-byte block w of the token (little-endian, the last one zero-filled):
// h = (h ^ w) * 0xBF58476D1CE4E5B9, h ^= h >> 31.  `Words` is std::uint64_t
// or a GCC vector of them (kept_token_hashes.hpp hashes tokens in lanes).
template <class Words>
constexpr Words block_hash_seed_of(Words length) {
    return 0x9E3779B97F4A7C15ull ^ (length * 0xC2B2AE3D27D4EB4Full);
}
template <class Words>
constexpr Words block_hash_step_of(Words h, Words w) {
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}
constexpr std::uint64_t block_hash_seed(std::uint64_t length) { return block_hash_seed_of(length); }
constexpr std::uint64_t block_hash_step(std::uint64_t h, std::uint64_t w) { return block_hash_step_of(h, w); }

// The block hash of `s`, one byte at a time (for tables and tests).
constexpr std::uint64_t block_hash(std::string_view s) {
    std::uint64_t h = block_hash_seed(s.size());
    for (std::size_t o = 0; o < s.size(); o += 8) {
        std::uint64_t w = 0;
        for (std::size_t k = 0; k < 8 && o + k < s.size(); ++k)
            w |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[o + k])) << (8 * k);
        h = block_hash_step(h, w);
    }
    return h;
}

inline std::uint64_t load_le64(const unsigned char *p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;  // x86-64 and AArch64 Linux are little-endian
}

// The block hash of the n bytes at p, reading whole words: the 8 bytes from
// p + n - 1 onwards must be readable (the caller pads its buffer).
// `high` collects the bytes' top bits (non-zero: the token is not ASCII).
inline std::uint64_t block_hash(const unsigned char *p, std::uint64_t n, std::uint64_t &high) {
    std::uint64_t h = block_hash_seed(n);
    if (n <= 8) {  // most words: one block
        const std::uint64_t w = load_le64(p) & (~0ull >> (64 - 8 * n));
        high |= w & 0x8080808080808080ull;
        return block_hash_step(h, w);
    }
    std::uint64_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const std::uint64_t w = load_le64(p + o);
        high |= w;
        h = block_hash_step(h, w);
    }
    if (o < n) {
        const std::uint64_t w = load_le64(p + o) & (~0ull >> (64 - 8 * (n - o)));
        high |= w;
        h = block_hash_step(h, w);
    }
    high &= 0x8080808080808080ull;
    return h;
}

// Bucket of a unigram and of an adjacent pair (both revisions).
inline std::uint32_t unigram_bucket(std::uint64_t h, std::uint64_t mask) {
    return static_cast<std::uint32_t>(splitmix64(h) & mask);
}
inline std::uint32_t bigram_bucket(std::uint64_t h1, std::uint64_t h2, std::uint64_t mask) {
    return static_cast<std::uint32_t>(splitmix64(h1 * 0x9E3779B97F4A7C15ull + h2) & mask);
}

COE_KERNELS_END
