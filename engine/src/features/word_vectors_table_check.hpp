// word_vectors_table_check.hpp - the word-vector file's slot and word-offset
// tables checked from the bytes of the buffered read that also sums the
// payload, so that opening a file reads those tables (9 MiB of the 76 MB
// file of scripts/fetch-word-vectors.sh) once and not a second time through
// the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "features/word_vectors_format.hpp"

namespace coe::detail {

// Not thread-safe; one per file being opened.
class WordVectorsTableCheck {
public:
    // For a file whose header says `word_count`, `slot_count` and
    // `words_bytes`, whose sections lie at `at`.
    WordVectorsTableCheck(std::uint32_t word_count, std::uint32_t slot_count, std::uint64_t words_bytes,
                          const word_vectors_format::Layout &at);

    // The file's bytes [offset, offset + size), pieces in order.  A piece
    // starts at a multiple of 8 from the file's start, so that no 8-byte
    // slot and no 4-byte offset is split (sections start at multiples of 64).
    void add(std::uint64_t offset, const unsigned char *data, std::size_t size);

    // After every byte of both tables was added: "" or the first problem,
    // in this order: a slot naming a row past the last, no free slot,
    // word_offsets[0] not 0, offsets that decrease, offsets that end past
    // words_bytes.
    std::string problem() const;

private:
    void add_slots(std::uint64_t first_slot, const unsigned char *data, std::uint64_t count);
    void add_offsets(std::uint64_t first_row, const unsigned char *data, std::uint64_t count);

    std::uint32_t word_count_;
    std::uint64_t words_bytes_;
    word_vectors_format::Layout at_;
    std::uint64_t slot_count_;
    std::uint64_t free_slots_ = 0;
    // the last offset added: of the row before the next piece's first, and
    // once the table is read, of row word_count (where the words end)
    std::uint32_t previous_offset_ = 0;
    std::string slot_problem_, offset_problem_;
};

}  // namespace coe::detail
