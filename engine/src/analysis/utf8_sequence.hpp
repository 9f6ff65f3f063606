// utf8_sequence.hpp - the one rule for well-formed UTF-8 that the panel
// readers and validate() share (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
#pragma once

#include <cstddef>

namespace coe::detail {

// The length of the well-formed UTF-8 sequence at p, whose first byte is
// >= 0x80 (2 to 4), or 0 when it is not well-formed or ends past `end`.
inline std::size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    const unsigned b = p[0];
    std::size_t n = 0;              // continuation bytes
    unsigned lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
        n = 1;
    } else if (b == 0xe0) {
        n = 2;
        lo = 0xa0;
    } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
        n = 2;
    } else if (b == 0xed) {
        n = 2;
        hi = 0x9f;
    } else if (b == 0xf0) {
        n = 3;
        lo = 0x90;
    } else if (b >= 0xf1 && b <= 0xf3) {
        n = 3;
    } else if (b == 0xf4) {
        n = 3;
        hi = 0x8f;
    } else {
        return 0;
    }
    if (static_cast<std::size_t>(end - p) <= n) return 0;
    for (std::size_t k = 1; k <= n; ++k) {
        const unsigned c = p[k];
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) return 0;
    }
    return n + 1;
}

}  // namespace coe::detail
