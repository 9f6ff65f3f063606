// clean_text.cpp - see clean_text.hpp.
//
// Item texts are mostly words with single spaces between them, so where the
// target has SSE2 (every x86-64) sixteen bytes are classified at once: a
// byte is copied as it is when it has no rule, or when it is a single space
// between two such bytes; the first byte that needs a rule ends the block
// and goes through the byte-wise step, which is the whole algorithm on its
// own (and all of it on other targets).
#include "analysis/clean_text.hpp"

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "coe/internal/strings.hpp"

namespace coe::detail {

namespace {

// what each byte is to the rules: none, a markup byte (backtick, emphasis
// marker) or whitespace
enum class Rule : unsigned char { none, markup, space };

const std::array<Rule, 256> &byte_rules() {
    static const auto table = [] {
        std::array<Rule, 256> t{};
        for (unsigned char c : std::string_view("`*_")) t[c] = Rule::markup;
        for (unsigned char c : internal::ascii_space) t[c] = Rule::space;
        return t;
    }();
    return table;
}

#if defined(__SSE2__)
__m128i load16(const char *p) { return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)); }

// Bit k set when byte k of `v` has a rule (see byte_rules).
unsigned special_mask(__m128i v) {
    const auto eq = [&](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    // \t \n \v \f \r are 9..13: (v - 9) < 5 as unsigned bytes, i.e. min(v - 9, 4) == v - 9
    const __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8(9));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(shifted, _mm_set1_epi8(4)), shifted);
    const __m128i any =
        _mm_or_si128(_mm_or_si128(_mm_or_si128(eq('`'), eq('*')), _mm_or_si128(eq('_'), eq(' '))), control);
    return static_cast<unsigned>(_mm_movemask_epi8(any));
}

unsigned space_mask(__m128i v) {
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' '))));
}
#endif

}  // namespace

void append_clean_text(std::string_view raw, std::string &out) {
    const std::array<Rule, 256> &rule = byte_rules();
    const std::size_t start = out.size();
    out.resize(start + raw.size());  // the most it can take; cut to what was written below
    char *const first = out.data() + start;
    char *o = first;  // o never passes first + i: every byte written stands for one read
    bool pending_space = false;
    for (std::size_t i = 0; i < raw.size();) {
#if defined(__SSE2__)
        // A block: at least one byte written and no space pending, so a
        // single space before a byte without a rule is written as it stands.
        // 17 bytes readable: the byte after the block decides its last space.
        if (!pending_space && o > first && i + 17 <= raw.size()) {
            const __m128i block = load16(raw.data() + i);
            const unsigned here = special_mask(block), next = special_mask(load16(raw.data() + i + 1));
            const unsigned plain = ~here | (space_mask(block) & ~next);
            const auto length = static_cast<std::size_t>(__builtin_ctz(~plain | 0x10000U));
            if (length > 0) {
                std::memcpy(o, raw.data() + i, 16);  // o + 16 <= first + i + 16 < first + raw.size()
                o += length;
                i += length;
                continue;
            }
        }
#endif
        std::size_t end = i;
        while (end < raw.size() && rule[static_cast<unsigned char>(raw[end])] == Rule::none) ++end;
        if (end == i) end = i + 1;  // one special byte
        const char c = raw[i];
        if (end == i + 1 && c == '`') {
            ++i;
            continue;
        }
        if (end == i + 1 && (c == '*' || c == '_') && i + 1 < raw.size() && raw[i + 1] == c) {
            i += 2;
            continue;
        }
        if (end == i + 1 && rule[static_cast<unsigned char>(c)] == Rule::space) {
            pending_space = o > first;
            ++i;
            continue;
        }
        // a space stands for at least one skipped byte: o stays behind i
        if (pending_space) *o++ = ' ';
        pending_space = false;
        std::memcpy(o, raw.data() + i, end - i);
        o += end - i;
        i = end;
    }
    out.resize(start + static_cast<std::size_t>(o - first));
}

}  // namespace coe::detail
