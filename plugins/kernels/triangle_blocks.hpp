// triangle_blocks.hpp - the pairs of a square matrix's upper triangle in
// square blocks.
//
// Code that reads or writes (j, i) beside (i, j) goes down a column; over a
// matrix larger than the L1 cache that is a cache line per value.  Visiting
// the pairs block by block (32 x 32) keeps the rows and the columns of a
// block in the cache.  Used by the dense similarity's mirror and by the
// engine's symmetry check.  No state; thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

// Calls f(i, j) once for every 0 <= i < j < n, block by block.
template <class F>
inline void for_each_upper_pair_in_blocks(std::uint32_t n, F &&f) {
    constexpr std::uint32_t block = 32;
    for (std::uint32_t ib = 0; ib < n; ib += block)
        for (std::uint32_t jb = ib; jb < n; jb += block) {
            const std::uint32_t iend = std::min(n, ib + block), jend = std::min(n, jb + block);
            for (std::uint32_t i = ib; i < iend; ++i)
                for (std::uint32_t j = std::max(jb, i + 1); j < jend; ++j) f(i, j);
        }
}

COE_KERNELS_END
