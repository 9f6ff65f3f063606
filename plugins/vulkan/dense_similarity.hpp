// dense_similarity.hpp - coe.similarity/2 with the dense matrix on the
// Vulkan device, bit for bit the result coe/ops/similarity.h specifies.
//
// Threading: re-entrant (device work is serialised inside vulkan_device).
// Errors: throws coe::sdk::status_error (invalid arguments as the scalar
// kernel reports them; Vulkan failures as COE_ERR_INTERNAL or
// COE_ERR_OUT_OF_MEMORY with the failing call named).
#pragma once

#include "coe/coe_plugin.h"

namespace coe::vulkan {

// Dense vectors on the device; sparse ones through the scalar kernel.
coe_status similarity_v2(const coe_similarity_args &args);

}  // namespace coe::vulkan
