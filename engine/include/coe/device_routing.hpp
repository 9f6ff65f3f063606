// device_routing.hpp - which dense similarity calls go to a device backend
// (a GPU through the Vulkan backend) on their own, by size.
//
// A device pays only for large calls: the dispatch and the transfers cost
// more than one panel's work.  With routing `auto` and no backend forced, a
// dense coe.similarity call of n vectors of d floats goes first to the
// device backend when n * (n + 1) / 2 * d (its multiply-adds) reaches
// min_multiply_adds; every smaller call, and every sparse (TF-IDF) call,
// stays on the best CPU backend.  The device backend is loaded lazily, once,
// when the calls that reached the size add up to start_multiply_adds: until
// then they run on the CPU, since starting a device (the driver, the
// pipelines) costs more than such a call saves (about 0.3 s on an H200
// against 1 to 30 ms for calls near the break-even).  An engine that only
// ever sees small panels never loads it (no library, no driver).  A device of CPU type
// (Mesa's lavapipe), one that does not say what it is, or a plugin that is
// rejected, is never routed to; the reason is listed by Engine::backends().
// A routed call runs on the backend chain with the device as its first link:
// if the device fails, the call is served by the CPU backends as usual.
// docs/backend-selection.md#device-routing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace coe {

enum class DeviceRouting {
    automatic,  // "auto": large dense similarity calls go to a GPU device backend when there is one
    off,        // "off": never, unless a device backend is forced by name
};

// "auto", "off".
const char *to_string(DeviceRouting mode);
// The mode a name stands for, or nullopt for any other text.
std::optional<DeviceRouting> device_routing_from_string(std::string_view name);

// The break-even size of one dense similarity call, in multiply-adds
// (n * (n + 1) / 2 * d), measured on an NVIDIA H200 against avx512
// (docs/gpu.md).  The one place the default is written.
inline constexpr std::uint64_t kDefaultDeviceMinMultiplyAdds = 20'000'000;

// The work that pays for starting the device: the large calls an engine has
// seen must add up to this many multiply-adds before it loads the device
// backend (the call that reaches it is the first on the device).  Starting
// the Vulkan device on an NVIDIA H200 took 0.25-0.3 s; one AVX-512 core does
// 3 to 15 billion of these multiply-adds a second on such calls (docs/gpu.md).
// The one place the default is written.
inline constexpr std::uint64_t kDefaultDeviceStartMultiplyAdds = 3'000'000'000;

// The multiply-adds of one dense similarity call: n * (n + 1) / 2 * d,
// saturating at UINT64_MAX.
inline std::uint64_t dense_similarity_multiply_adds(std::uint32_t count, std::uint64_t dimension) {
    const std::uint64_t n = count;
    const std::uint64_t pairs = n * (n + 1) / 2;  // below 2^63 for any 32-bit n
    if (dimension != 0 && pairs > UINT64_MAX / dimension) return UINT64_MAX;
    return pairs * dimension;
}

struct DeviceRoutingOptions {
    // Empty: COE_DEVICE_ROUTING when set (and EngineOptions::use_environment),
    // else the config file's "device_routing", else automatic.  An unknown
    // name in the environment or the file is an error naming it.
    std::optional<DeviceRouting> mode;
    // A dense similarity call goes to the device when its multiply-adds reach
    // this.  Empty: COE_DEVICE_MIN_MULTIPLY_ADDS, else the config file's
    // "device_min_multiply_adds", else kDefaultDeviceMinMultiplyAdds.
    std::optional<std::uint64_t> min_multiply_adds;
    // The device backend is started once the calls that reached
    // min_multiply_adds add up to this (0: at the first such call).  Empty:
    // COE_DEVICE_START_MULTIPLY_ADDS, else the config file's
    // "device_start_multiply_adds", else kDefaultDeviceStartMultiplyAdds.
    std::optional<std::uint64_t> start_multiply_adds;
    // For tests only: route to a CPU-type device too (lavapipe), which is
    // never worth it.  COE_DEVICE_ROUTING_ALLOW_CPU=1 sets it when
    // EngineOptions::use_environment is on.
    bool route_cpu_devices = false;
};

}  // namespace coe
