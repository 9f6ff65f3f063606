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

// Stable LSD radix sort of `keys` on bits [32, 32 + bits) (bits <= 32);
// `scratch` is reused storage.  Keys equal in those bits keep their order.
inline void radix_sort_high32(scratch_vector<std::uint64_t> &keys, scratch_vector<std::uint64_t> &scratch,
                              unsigned bits) {
    const unsigned passes = (bits + 10) / 11;
    if (passes == 0) return;
    const unsigned digit = (bits + passes - 1) / passes;
    const std::size_t radix = std::size_t{1} << digit;  // <= 2048
    std::array<std::uint32_t, 2048> count;
    scratch.resize(keys.size());
    for (unsigned pass = 0; pass < passes; ++pass) {
        const unsigned shift = 32 + pass * digit;
        std::fill(count.begin(), count.begin() + static_cast<std::ptrdiff_t>(radix), 0u);
        for (std::uint64_t k : keys) ++count[static_cast<std::size_t>(k >> shift) & (radix - 1)];
        std::uint32_t sum = 0;
        for (std::size_t d = 0; d < radix; ++d) sum += std::exchange(count[d], sum);
        for (std::uint64_t k : keys) scratch[count[static_cast<std::size_t>(k >> shift) & (radix - 1)]++] = k;
        keys.swap(scratch);
    }
}

COE_KERNELS_END
