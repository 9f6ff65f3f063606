#include "features/word_vectors_format.hpp"

#include <cstring>

namespace coe::detail::word_vectors_format {

namespace {

std::uint64_t align(std::uint64_t offset) {
    return (offset + section_alignment - 1) / section_alignment * section_alignment;
}

// XXH64's primes and steps (Yann Collet's xxHash, BSD-2-Clause; the
// algorithm, written here from its specification).
constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ull, p2 = 0xC2B2AE3D27D4EB4Full, p3 = 0x165667B19E3779F9ull,
                        p4 = 0x85EBCA77C2B2AE63ull, p5 = 0x27D4EB2F165667C5ull;

inline std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline std::uint64_t read64(const unsigned char *p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline std::uint32_t read32(const unsigned char *p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline std::uint64_t round(std::uint64_t acc, std::uint64_t input) { return rotl(acc + input * p2, 31) * p1; }
inline std::uint64_t merge(std::uint64_t h, std::uint64_t lane) { return (h ^ round(0, lane)) * p1 + p4; }

}  // namespace

Layout layout(std::uint32_t word_count, std::uint32_t slot_count, std::uint64_t words_bytes, std::uint32_t dims) {
    Layout l{};
    l.slots = header_size;
    l.word_offsets = align(l.slots + 8ull * slot_count);
    l.words = align(l.word_offsets + 4ull * (static_cast<std::uint64_t>(word_count) + 1));
    l.values = align(l.words + words_bytes);
    l.end = l.values + 2ull * word_count * dims;
    return l;
}

std::uint64_t checksum(const void *data, std::size_t size) {
    const auto *p = static_cast<const unsigned char *>(data);
    const unsigned char *const end = p + size;
    std::uint64_t h;
    if (size >= 32) {
        std::uint64_t v1 = p1 + p2, v2 = p2, v3 = 0, v4 = 0 - p1;
        for (const unsigned char *const last = end - 32; p <= last; p += 32) {
            v1 = round(v1, read64(p));
            v2 = round(v2, read64(p + 8));
            v3 = round(v3, read64(p + 16));
            v4 = round(v4, read64(p + 24));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
    } else {
        h = p5;
    }
    h += static_cast<std::uint64_t>(size);
    for (; end - p >= 8; p += 8) h = rotl(h ^ round(0, read64(p)), 27) * p1 + p4;
    if (end - p >= 4) {
        h = rotl(h ^ (read32(p) * p1), 23) * p2 + p3;
        p += 4;
    }
    for (; p < end; ++p) h = rotl(h ^ (*p * p5), 11) * p1;
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p3;
    h ^= h >> 32;
    return h;
}

}  // namespace coe::detail::word_vectors_format
