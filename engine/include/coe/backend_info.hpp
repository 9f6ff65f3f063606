// backend_info.hpp - what the engine knows about each backend candidate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coe {

enum class BackendStatus {
    active,      // serves operations now
    available,   // loaded and valid; used if forced or when the active one lacks an operation
    rejected,    // not usable; `reason` says why
    not_loaded,  // a device backend (GPU) left unloaded: loaded only when requested by name
                 // (or with EngineOptions::load_device_backends), since starting a device costs time
};

const char *to_string(BackendStatus s);

// The device a backend runs its operations on, as its plugin describes it
// (the extension coe.device/1, sdk/include/coe/ext/device.h).
struct DeviceInfo {
    std::string type;                // "discrete_gpu", "integrated_gpu", "virtual_gpu", "cpu" or "other"
    std::string name;                // e.g. "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string driver;              // e.g. "NVIDIA", "llvmpipe"; may be empty
    std::uint64_t memory_bytes = 0;  // its largest device-local memory heap; 0: unknown
};

// One plugin file (or the built-in scalar backend) and its verdict.
// Plain value type; copies are independent snapshots.
struct BackendInfo {
    std::string name;     // e.g. "avx2"; empty if the file could not be read
    std::string id;       // e.g. "coe.backend.avx2"
    std::string version;  // the plugin's own version
    std::string file;     // absolute path, or "<built-in>"
    std::string source;   // where it was found: api, COE_PLUGIN_PATH, config, install, build-tree, built-in
    std::string abi;      // "major.minor" the plugin was built for
    std::uint64_t required_features = 0;  // COE_CPU_* mask
    int score = 0;                        // 0 = unusable; wider ISA scores higher
    BackendStatus status = BackendStatus::rejected;
    std::string reason;                   // why rejected, or why this one is active
    std::vector<std::string> operations;  // "coe.similarity/1", ... (empty when never loaded)
    std::string probe;  // how the file was tried out before loading (coe/plugin_probe.hpp); "" if it never got that far
    // Where its code runs (coe/plugin_isolation.hpp): "in_process" or "process"
    // (a worker process), for one not loaded where it would run; "" if it was
    // rejected before that was decided.
    std::string isolation;
    // An isolated backend's workers started after the first (after crashes,
    // hangs or failed starts), as counted when the snapshot was taken.
    std::uint64_t worker_restarts = 0;
    // The device of a loaded backend that names one (coe.device/1); empty for
    // CPU backends, one never loaded, and one running isolated (the worker
    // does not pass extensions on).
    std::optional<DeviceInfo> device;
};

}  // namespace coe
