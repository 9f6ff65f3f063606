// word_vectors_format.hpp - the word-vector file's layout (docs/word-vectors.md):
// the 64-byte header, where the sections lie, and the payload's checksum.
// The converter writes files in it; WordVectorsFile maps and validates them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace coe::detail::word_vectors_format {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word-vector file is little-endian and is mapped as it is: this host is not"
#endif

inline constexpr char magic[8] = {'C', 'O', 'E', 'W', 'V', 'E', 'C', '\x1a'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::uint32_t value_type_binary16 = 1;
inline constexpr std::uint32_t header_size = 64;
inline constexpr std::uint64_t section_alignment = 64;  // every section starts at a multiple of it
inline constexpr std::uint32_t max_dims = 4096;

// The header, byte for byte as in the file (little-endian, no padding).
struct Header {
    char magic[8];
    std::uint32_t version;
    std::uint32_t dims;
    std::uint32_t word_count;
    std::uint32_t slot_count;
    std::uint32_t value_type;
    std::uint32_t header_size;
    std::uint64_t words_bytes;
    std::uint64_t payload_bytes;  // file size - header_size
    std::uint64_t checksum;       // of the payload: checksum() below
    std::uint64_t reserved;       // 0
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes");

// Byte offsets from the file's start: each section's, and the file's end.
struct Layout {
    std::uint64_t slots, word_offsets, words, values, end;
};

// Where the sections of a file with these counts lie.  No overflow for
// word_count, slot_count < 2^32, dims <= max_dims and words_bytes < 2^62.
Layout layout(std::uint32_t word_count, std::uint32_t slot_count, std::uint64_t words_bytes, std::uint32_t dims);

// The payload's checksum: XXH64 with seed 0 (four multiply-rotate lanes over
// 32-byte stripes, then the tail and a finaliser), so that
// `tail -c +65 FILE | xxhsum -H64` prints it too.
std::uint64_t checksum(const void *data, std::size_t size);

// The same checksum over bytes that arrive in pieces of any size (a file
// read through a buffer): add() them in order, then finish().  Not
// thread-safe; cheap to copy.
class Checksum {
public:
    Checksum();
    void add(const void *data, std::size_t size);
    std::uint64_t finish() const;

private:
    std::uint64_t lane_[4];
    std::uint64_t total_ = 0;
    unsigned char pending_[32] = {};  // the start of a stripe not complete yet
    std::size_t pending_size_ = 0;
};

}  // namespace coe::detail::word_vectors_format
