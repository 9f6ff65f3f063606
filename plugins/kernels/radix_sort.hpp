// radix_sort.hpp - the counting sort behind featurize and sparse similarity:
// 64-bit keys ordered by their high 32 bits, stable, in passes of at most
// 11 bits, so the cost follows the number of keys, never 2^bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernel_namespace.hpp"
#include "thread_scratch.hpp"

COE_KERNELS_BEGIN

template <unsigned Passes>
inline void radix_sort_passes(scratch_vector<std::uint64_t> &keys, scratch_vector<std::uint64_t> &scratch,
                              unsigned digit) {
    const std::size_t radix = std::size_t{1} << digit, mask = radix - 1;
    // the counts of every pass from one read of the keys (24 KiB at most)
    std::array<std::array<std::uint32_t, 2048>, Passes> count;
    for (auto &c : count) std::fill(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(radix), 0u);
    for (std::uint64_t k : keys)
        for (unsigned pass = 0; pass < Passes; ++pass)
            ++count[pass][static_cast<std::size_t>(k >> (32 + pass * digit)) & mask];
    scratch.resize(keys.size());
    for (unsigned pass = 0; pass < Passes; ++pass) {
        const unsigned shift = 32 + pass * digit;
        std::array<std::uint32_t, 2048> &c = count[pass];
        // a digit that every key shares would move nothing
        if (c[static_cast<std::size_t>(keys[0] >> shift) & mask] == keys.size()) continue;
        std::uint32_t sum = 0;
        for (std::size_t d = 0; d < radix; ++d) sum += std::exchange(c[d], sum);
        for (std::uint64_t k : keys) scratch[c[static_cast<std::size_t>(k >> shift) & mask]++] = k;
        keys.swap(scratch);
    }
}

// Stable LSD radix sort of `keys` on bits [32, 32 + bits) (bits <= 32);
// `scratch` is reused storage.  Keys equal in those bits keep their order.
// At most 2^32 - 1 keys (the callers refuse more).
inline void radix_sort_high32(scratch_vector<std::uint64_t> &keys, scratch_vector<std::uint64_t> &scratch,
                              unsigned bits) {
    const unsigned passes = (bits + 10) / 11;
    if (passes == 0 || keys.size() < 2) return;
    const unsigned digit = (bits + passes - 1) / passes;  // <= 11
    if (passes == 1) radix_sort_passes<1>(keys, scratch, digit);
    else if (passes == 2) radix_sort_passes<2>(keys, scratch, digit);
    else radix_sort_passes<3>(keys, scratch, digit);
}

COE_KERNELS_END
