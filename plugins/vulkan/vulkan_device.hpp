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

// dots[i * n + j] = the canonical dot product of rows i and j (packed, d
// floats each) for j >= i; the lower triangle is left as it was.  Creates the
// logical device and pipeline on first use.  n * n and n * d must be below
// 2^32 (the shader's indices are 32-bit).
void canonical_dots(const float *rows, std::uint32_t n, std::uint32_t d, float *dots);

}  // namespace coe::vulkan
