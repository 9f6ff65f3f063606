// vulkan_device.hpp - the one Vulkan device of the plugin: instance,
// physical device, queue, and the two calls that run work on it: the
// canonical dots of coe.similarity/2 and the word sums of
// coe.embed_words/1.
//
// Ownership: a single process-wide object, created on first use and never
// destroyed (the host never unloads a plugin that may still run, and a
// driver's threads must not be torn down from a static destructor).
// Threading: every member function may be called from any thread; device
// work is serialised by one mutex (one submission at a time).
// Errors: functions throw coe::sdk::status_error with a message naming the
// Vulkan call and its result; after a lost device or a fence timeout the
// device is marked broken and every later call fails fast.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "coe/ext/device.h"

namespace coe::vulkan {

// The device that was found when the plugin was first asked for its
// descriptor: usable is false (and why says why) when there is none.
struct DeviceProbe {
    bool usable = false;
    std::string why;      // e.g. "no Vulkan device with a compute queue"
    std::string summary;  // e.g. "Vulkan compute on llvmpipe (...), CPU device, driver llvmpipe, 1024 MiB"
    // The device chosen, for coe.device/1 (coe/ext/device.h); set when usable.
    std::uint32_t type = COE_DEVICE_TYPE_OTHER;
    std::string name;                // VkPhysicalDeviceProperties::deviceName
    std::string driver;              // VkPhysicalDeviceDriverProperties::driverName ("" before Vulkan 1.2)
    std::uint64_t memory_bytes = 0;  // the largest device-local heap
};

// Probes once (instance + physical devices, no logical device yet) and
// returns the same result ever after.
const DeviceProbe &probe_device();

// Receives one block of the matrix: rows row0 .. row0 + rows - 1, each n
// floats (block[r * n + j] = the dot product of rows row0 + r and j for
// j >= row0 + r; the rest of the row is unspecified).  The block is valid
// during the call only; the device's mutex is held meanwhile.
using DotsBlockSink = std::function<void(std::uint32_t row0, std::uint32_t rows, const float *block)>;

// The canonical dot products of the rows (packed, d floats each) for every
// pair j >= i, handed to `sink` block by block in increasing row0 (one block
// when n * n floats fit the device's storage-buffer range).  Creates the
// logical device and pipelines on first use.  n * n and n * d must be below
// 2^32 (the shaders' indices are 32-bit).
void canonical_dots(const float *rows, std::uint32_t n, std::uint32_t d, const DotsBlockSink &sink);

// What word_sums did.
enum class WordSums {
    done,               // sums written
    values_not_finite,  // the values hold an infinity or a NaN: nothing computed
};

// The sums of coe.embed_words/1 before the norm (word_sums.comp): for text
// t < texts and lane d < dims, sums[t * dims + d] = 0 + w_1 * v_1[d] + ...
// over the text's tokens in order, each product rounded before the add.
// Token k is tokens[2k] (a row of `values`) and tokens[2k + 1] (its
// weight's float bits); text t's tokens are token_offsets[t] ..
// token_offsets[t + 1] - 1.  `values` holds rows * dims binary16 values.
// values_id != 0: the values stay on the device and are uploaded again only
// when (values_id, rows, dims) differ from the last upload's (the caller
// promises that equal ids mean equal values, coe/ops/embed_words.h); 0:
// uploaded for this call.  The values are checked for infinities and NaNs
// once per upload.  Throws COE_ERR_UNSUPPORTED when the values, the tokens
// or the sums exceed the device's storage-buffer range (or 32-bit indices).
// The weights must keep every product and sum normal and finite (the
// caller's check: dense_similarity.cpp explains why a device may not).
WordSums word_sums(const std::uint16_t *values, std::uint32_t rows, std::uint32_t dims, std::uint64_t values_id,
                   const std::uint32_t *tokens, const std::uint32_t *token_offsets, std::uint32_t texts, float *sums);

// The most bytes one storage buffer of the device may hold (0: no device).
std::uint64_t storage_buffer_range();

// Rows of dots one call hands over at most (the device's storage-buffer
// range over n floats); 0 when there is no device.
std::uint32_t rows_per_block(std::uint32_t n);

}  // namespace coe::vulkan
