#include "features/word_vectors_table_check.hpp"

#include <algorithm>
#include <cstring>

namespace coe::detail {

namespace {

std::string str(std::uint64_t n) { return std::to_string(n); }

std::uint32_t load32(const unsigned char *p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

WordVectorsTableCheck::WordVectorsTableCheck(std::uint32_t word_count, std::uint32_t slot_count,
                                             std::uint64_t words_bytes, const word_vectors_format::Layout &at)
    : word_count_(word_count), words_bytes_(words_bytes), at_(at), slot_count_(slot_count) {}

void WordVectorsTableCheck::add(std::uint64_t offset, const unsigned char *data, std::size_t size) {
    const std::uint64_t end = offset + size;
    const std::uint64_t slots_end = at_.slots + 8 * slot_count_;
    if (offset < slots_end && end > at_.slots) {
        const std::uint64_t from = std::max(offset, at_.slots), to = std::min(end, slots_end);
        add_slots((from - at_.slots) / 8, data + (from - offset), (to - from) / 8);
    }
    const std::uint64_t offsets_end = at_.word_offsets + 4 * (std::uint64_t{word_count_} + 1);
    if (offset < offsets_end && end > at_.word_offsets) {
        const std::uint64_t from = std::max(offset, at_.word_offsets), to = std::min(end, offsets_end);
        add_offsets((from - at_.word_offsets) / 4, data + (from - offset), (to - from) / 4);
    }
}

// Branch-free over the piece (it vectorises); the piece is read again only
// to name the first bad slot.
void WordVectorsTableCheck::add_slots(std::uint64_t first_slot, const unsigned char *data, std::uint64_t count) {
    std::uint32_t largest = 0;
    std::uint64_t free = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t row_plus_1 = load32(data + 8 * i);
        largest = std::max(largest, row_plus_1);
        free += row_plus_1 == 0;
    }
    free_slots_ += free;
    if (largest <= word_count_ || !slot_problem_.empty()) return;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t row_plus_1 = load32(data + 8 * i);
        if (row_plus_1 > word_count_) {
            slot_problem_ = "slot " + str(first_slot + i) + " names row " + str(row_plus_1 - 1ull) +
                            ", past the last row (" + str(word_count_) + " words)";
            return;
        }
    }
}

void WordVectorsTableCheck::add_offsets(std::uint64_t first_row, const unsigned char *data, std::uint64_t count) {
    if (count == 0) return;
    if (first_row == 0 && load32(data) != 0 && offset_problem_.empty())
        offset_problem_ = "word_offsets[0] is " + str(load32(data)) + ", not 0";
    std::uint32_t previous = first_row == 0 ? 0 : previous_offset_;
    bool decreases = false;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t v = load32(data + 4 * i);
        decreases |= v < previous;
        previous = v;
    }
    if (decreases && offset_problem_.empty()) {
        previous = first_row == 0 ? 0 : previous_offset_;
        for (std::uint64_t i = 0; i < count; ++i) {
            const std::uint32_t v = load32(data + 4 * i);
            if (v < previous) {
                offset_problem_ = "word_offsets decrease at row " + str(first_row + i - 1) + " (" + str(previous) +
                                  " then " + str(v) + ")";
                break;
            }
            previous = v;
        }
    }
    previous_offset_ = load32(data + 4 * (count - 1));
}

std::string WordVectorsTableCheck::problem() const {
    if (!slot_problem_.empty()) return slot_problem_;
    if (free_slots_ == 0) return "no free slot in the vocabulary";
    if (!offset_problem_.empty()) return offset_problem_;
    if (previous_offset_ > words_bytes_)
        return "word_offsets end at " + str(previous_offset_) + ", past words_bytes " + str(words_bytes_);
    return "";
}

}  // namespace coe::detail
