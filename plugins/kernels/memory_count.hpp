// memory_count.hpp - counts of the ABI (64-bit) as sizes of this target's
// memory.  On a 64-bit target the conversion is exact and costs nothing; on
// a 32-bit one (WebAssembly) a count above SIZE_MAX cannot describe memory
// the caller holds, so it is refused with a named error, never cut short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

// `n` as std::size_t; throws COE_ERR_INVALID_ARGUMENT naming `what` when it
// does not fit.
inline std::size_t memory_count(std::uint64_t n, const char *what) {
    if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
        if (n > std::numeric_limits<std::size_t>::max())
            throw sdk::status_error(COE_ERR_INVALID_ARGUMENT,
                                    std::string(what) + " (" + std::to_string(n) + ") exceeds this target's memory");
    }
    return static_cast<std::size_t>(n);
}

COE_KERNELS_END
