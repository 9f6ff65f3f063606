// embed_words_on_device.hpp - coe.embed_words/1 with the sums of the words'
// vectors on the Vulkan device, bit for bit the result coe/ops/embed_words.h
// specifies.
//
// Threading: re-entrant (device work is serialised inside vulkan_device).
// Errors: throws coe::sdk::status_error (invalid arguments as the scalar
// kernel reports them; Vulkan failures as COE_ERR_INTERNAL or
// COE_ERR_OUT_OF_MEMORY with the failing call named).
#pragma once

#include "coe/coe_plugin.h"

namespace coe::vulkan {

coe_status embed_words(coe_embed_words_args &args);

}  // namespace coe::vulkan
