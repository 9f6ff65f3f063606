// word_table.hpp - a words' table in the layout coe.embed_words/1 reads
// (coe/ops/embed_words.h), built in memory: from a word-vector file being
// converted, or from a few words in a test.  Also the binary16 conversions
// the layout needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coe/coe_plugin.h"

namespace coe::detail {

struct WordTableData {
    std::uint32_t dims = 0;
    std::vector<std::uint32_t> slots;         // 2 * slot_count: (row + 1, hash >> 32)
    std::vector<std::uint32_t> word_offsets;  // word_count + 1
    std::string words;                        // the words' bytes, one after another
    std::vector<float> weights;               // word_count, 1 unless set otherwise
    std::vector<std::uint16_t> values;        // word_count * dims binary16

    std::uint32_t word_count() const { return static_cast<std::uint32_t>(weights.size()); }
    std::uint32_t slot_count() const { return static_cast<std::uint32_t>(slots.size() / 2); }
    // The table as the operation takes it, its values_id 0 (the data may
    // change between views); valid while this object lives unchanged.
    coe_word_table view() const;
};

// The table of `words` (in row order) with their float vectors (row-major,
// words.size() * dims values, rounded to binary16), every weight 1.  Slots:
// the smallest power of two >= 2 * words.size() (at least 2).  Throws
// coe::Error naming the word when one is empty, repeated, or not in the form
// tokens take (upper-case ASCII, or a byte that ends a token), and when dims
// is outside 1..4096 or a value is not finite.
WordTableData build_word_table(const std::vector<std::string> &words, const std::vector<float> &vectors,
                               std::uint32_t dims);

// The table of sections laid out as coe_word_table says (wherever they live:
// vectors, or a mapped file), with `weights` for its rows and `values_id`
// naming the values' contents (0: unnamed; coe/ops/embed_words.h).
coe_word_table word_table_view(std::uint32_t dims, std::uint32_t word_count, std::uint32_t slot_count,
                               const std::uint32_t *slots, const std::uint32_t *word_offsets, const char *words,
                               const float *weights, const std::uint16_t *values, std::uint64_t values_id);

// The row of `word` in `table`, or -1: the probe coe.embed_words/1 makes.
std::int64_t find_word(const coe_word_table &table, std::string_view word);

// The hash of a word (coe.featurize/2's token hash of its bytes).
std::uint64_t word_hash(std::string_view word);

// IEEE 754 binary16 <-> binary32: to half rounds to nearest, ties to even
// (overflow gives infinity); to float is exact.
std::uint16_t float_to_half(float value);
float half_to_float(std::uint16_t half);

}  // namespace coe::detail
