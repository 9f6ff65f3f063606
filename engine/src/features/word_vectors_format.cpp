#include "features/word_vectors_format.hpp"

#include <algorithm>
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

Checksum::Checksum() : lane_{p1 + p2, p2, 0, 0 - p1} {}  // seed 0

void Checksum::add(const void *data, std::size_t size) {
    if (size == 0) return;  // data may be null
    const auto *p = static_cast<const unsigned char *>(data);
    total_ += size;
    // the lanes in locals: the bytes read could alias the members
    std::uint64_t v1 = lane_[0], v2 = lane_[1], v3 = lane_[2], v4 = lane_[3];
    auto stripe = [&](const unsigned char *s) {
        v1 = round(v1, read64(s));
        v2 = round(v2, read64(s + 8));
        v3 = round(v3, read64(s + 16));
        v4 = round(v4, read64(s + 24));
    };
    if (pending_size_ > 0) {
        const std::size_t take = std::min(size, sizeof pending_ - pending_size_);
        std::memcpy(pending_ + pending_size_, p, take);
        pending_size_ += take;
        p += take;
        size -= take;
        if (pending_size_ < sizeof pending_) return;
        stripe(pending_);
        pending_size_ = 0;
    }
    for (; size >= 32; p += 32, size -= 32) stripe(p);
    lane_[0] = v1;
    lane_[1] = v2;
    lane_[2] = v3;
    lane_[3] = v4;
    std::memcpy(pending_, p, size);
    pending_size_ = size;
}

std::uint64_t Checksum::finish() const {
    std::uint64_t h;
    if (total_ >= 32) {
        const std::uint64_t *v = lane_;
        h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
        for (int k = 0; k < 4; ++k) h = merge(h, v[k]);
    } else {
        h = p5;
    }
    h += total_;
    const unsigned char *p = pending_;
    const unsigned char *const end = pending_ + pending_size_;
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

std::uint64_t checksum(const void *data, std::size_t size) {
    Checksum sum;
    sum.add(data, size);
    return sum.finish();
}

}  // namespace coe::detail::word_vectors_format
