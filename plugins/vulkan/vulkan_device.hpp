// vulkan_device.hpp - the one Vulkan device of the plugin: instance,
// physical device, queue, the canonical-dots pipeline, and one call that
// runs it.
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

// Rows of dots one call hands over at most (the device's storage-buffer
// range over n floats); 0 when there is no device.
std::uint32_t rows_per_block(std::uint32_t n);

}  // namespace coe::vulkan
