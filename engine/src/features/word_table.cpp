#include "features/word_table.hpp"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include "coe/error.hpp"
#include "token_hash.hpp"

namespace coe::detail {

namespace {

bool token_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

std::uint32_t slot_count_for(std::size_t words) {
    std::uint64_t n = 2;
    while (n < 2 * static_cast<std::uint64_t>(words)) n *= 2;
    if (n > (1ull << 31)) throw Error("word table: too many words (" + std::to_string(words) + ")");
    return static_cast<std::uint32_t>(n);
}

}  // namespace

std::uint64_t word_hash(std::string_view word) { return kernels::block_hash(word); }

coe_word_table word_table_view(std::uint32_t dims, std::uint32_t word_count, std::uint32_t slot_count,
                               const std::uint32_t *slots, const std::uint32_t *word_offsets, const char *words,
                               const float *weights, const std::uint16_t *values, std::uint64_t values_id) {
    return coe_word_table{sizeof(coe_word_table), dims,  word_count, slot_count, slots,
                          word_offsets,           words, weights,    values,     values_id};
}

coe_word_table WordTableData::view() const {
    return word_table_view(dims, word_count(), slot_count(), slots.data(), word_offsets.data(), words.data(),
                           weights.data(), values.data(), 0);
}

WordTableData build_word_table(const std::vector<std::string> &words, const std::vector<float> &vectors,
                               std::uint32_t dims) {
    if (dims < 1 || dims > 4096) throw Error("word table: dims " + std::to_string(dims) + " is outside 1..4096");
    if (vectors.size() != words.size() * static_cast<std::size_t>(dims))
        throw Error("word table: " + std::to_string(vectors.size()) + " values for " + std::to_string(words.size()) +
                    " words of " + std::to_string(dims) + " dimensions");
    WordTableData t;
    t.dims = dims;
    const std::uint32_t slots = slot_count_for(words.size());
    t.slots.assign(2 * static_cast<std::size_t>(slots), 0);
    t.word_offsets.reserve(words.size() + 1);
    t.word_offsets.push_back(0);
    t.weights.assign(words.size(), 1.0f);
    t.values.resize(vectors.size());
    std::unordered_set<std::string_view> seen;
    for (std::size_t r = 0; r < words.size(); ++r) {
        const std::string &w = words[r];
        if (w.size() < 2) throw Error("word table: word " + std::to_string(r) + " '" + w + "' is shorter than a token");
        for (unsigned char c : w)
            if (!token_byte(c))
                throw Error("word table: word " + std::to_string(r) + " '" + w + "' is not a token (byte " +
                            std::to_string(c) + ")");
        if (!seen.insert(w).second) throw Error("word table: word '" + w + "' is repeated");
        t.words += w;
        if (t.words.size() > UINT32_MAX) throw Error("word table: the words exceed 4 GiB");
        t.word_offsets.push_back(static_cast<std::uint32_t>(t.words.size()));
        const std::uint64_t h = word_hash(w);
        std::uint32_t s = static_cast<std::uint32_t>(kernels::splitmix64(h)) & (slots - 1);
        while (t.slots[2 * s] != 0) s = (s + 1) & (slots - 1);
        t.slots[2 * s] = static_cast<std::uint32_t>(r + 1);
        t.slots[2 * s + 1] = static_cast<std::uint32_t>(h >> 32);
    }
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        if (!std::isfinite(vectors[i]))
            throw Error("word table: word '" + words[i / dims] + "' has a value that is not finite");
        t.values[i] = float_to_half(vectors[i]);
    }
    return t;
}

std::int64_t find_word(const coe_word_table &table, std::string_view word) {
    const std::uint64_t h = word_hash(word);
    const std::uint32_t mask = table.slot_count - 1, tag = static_cast<std::uint32_t>(h >> 32);
    for (std::uint32_t s = static_cast<std::uint32_t>(kernels::splitmix64(h)) & mask;; s = (s + 1) & mask) {
        const std::uint32_t row_plus_1 = table.slots[2 * s];
        if (row_plus_1 == 0) return -1;
        if (table.slots[2 * s + 1] != tag || row_plus_1 > table.word_count) continue;
        const std::uint32_t r = row_plus_1 - 1, begin = table.word_offsets[r], end = table.word_offsets[r + 1];
        if (end - begin == word.size() && std::memcmp(table.words + begin, word.data(), word.size()) == 0) return r;
    }
}

std::uint16_t float_to_half(float value) {
    std::uint32_t f;
    std::memcpy(&f, &value, 4);
    const std::uint32_t sign = (f >> 16) & 0x8000u;
    const std::uint32_t abs = f & 0x7fffffffu;
    if (abs >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds above 65504: infinity
    if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): a subnormal half, or zero
        if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);  // at most half the smallest subnormal
        // abs = m * 2^(e - 150) with m the 24-bit mantissa; a subnormal half
        // counts units of 2^-24, so it is m >> (126 - e), rounded
        const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
        const unsigned drop = 126u - (abs >> 23);  // 14..24
        const std::uint32_t kept = m >> drop, rest = m & ((1u << drop) - 1u), halfway = 1u << (drop - 1);
        const std::uint32_t rounded = kept + (rest > halfway || (rest == halfway && (kept & 1u)) ? 1u : 0u);
        return static_cast<std::uint16_t>(sign | rounded);
    }
    // normal: rebias the exponent (127 -> 15) and round the mantissa to 10 bits
    const std::uint32_t kept = (abs - 0x38000000u) >> 13;  // exponent and top mantissa bits, rebiased
    const std::uint32_t rest = abs & 0x1fffu;
    const std::uint32_t rounded = kept + (rest > 0x1000u || (rest == 0x1000u && (kept & 1u)) ? 1u : 0u);
    return static_cast<std::uint16_t>(sign | rounded);
}

float half_to_float(std::uint16_t half) {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    const std::uint32_t exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
    std::uint32_t f;
    if (exponent == 0x1f) {
        f = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        f = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        f = sign;
    } else {  // subnormal: normalise
        std::uint32_t m = mantissa, e = 113;
        while ((m & 0x400u) == 0) {
            m <<= 1;
            --e;
        }
        f = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    float value;
    std::memcpy(&value, &f, 4);
    return value;
}

}  // namespace coe::detail
