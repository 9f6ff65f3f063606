// engine_config.hpp - the JSON config file and the environment variables.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "coe/analysis.hpp"
#include "coe/device_routing.hpp"
#include "coe/plugin_isolation.hpp"
#include "coe/plugin_probe.hpp"
#include "coe/resilience.hpp"

namespace coe::detail {

// Contents of a config file:
//   {"backend": "avx2" | "auto",
//    "plugin_paths": ["dir-or-file", ...],     (relative to the file's folder)
//    "plugin_isolation": "auto" | "in_process" | "process",
//    "plugin_call_timeout_ms": 5000,          (an isolated plugin's per-call limit)
//    "device_routing": "auto" | "off",        (coe/device_routing.hpp)
//    "device_min_multiply_adds": 20000000,
//    "device_start_multiply_adds": 3000000000,
//    "plugin_probe": {"mode": "auto" | "required" | "off", "timeout_ms": 5000,
//                     "executable": "path", "disk_cache": true},
//    "resilience": {"shadow_rate": 0.01, "chain": ["avx2", "scalar"], "seed": 7,
//                   "breaker": {<BreakerConfig fields>},
//                   "breakers": {"avx2": {...}, "avx2:coe.similarity": {...}}},
//    "faults": ["avx2:nan:0.5", ...],
//    "features": "auto" | "tfidf" | "word_vectors" | "embedding",
//    "word_vectors_file": "path",
//    "experts": [...], "expert_breaker": {...}}   (read by coe/experts.hpp)
// BreakerConfig fields use the names of coe/resilience.hpp; "mode" is one of
// normal, disabled, forced_open, metrics_only.  Unknown keys are errors, so
// a typo never goes unnoticed.
struct ConfigFile {
    std::filesystem::path file;
    std::string backend;
    std::vector<std::filesystem::path> plugin_paths;
    std::optional<FeatureKind> features;                      // "features"
    std::filesystem::path word_vectors_file;                  // "word_vectors_file", relative to the file's folder
    std::optional<PluginIsolation> plugin_isolation;          // "plugin_isolation"
    std::optional<std::chrono::milliseconds> call_timeout;    // "plugin_call_timeout_ms"
    std::optional<DeviceRouting> device_routing;              // "device_routing"
    std::optional<std::uint64_t> device_min_multiply_adds;    // "device_min_multiply_adds"
    std::optional<std::uint64_t> device_start_multiply_adds;  // "device_start_multiply_adds"
};

// Throws coe::Error naming the file, and the line or field at fault.  The
// "resilience" and "faults" keys are applied onto `resilience`: each key
// present replaces that field, faults are appended; "plugin_probe" fields
// replace those of `probe`.
ConfigFile read_config_file(const std::filesystem::path &file, ResilienceOptions &resilience,
                            PluginProbeOptions &probe);

// Splits a PATH-like list ("a:b:c"), dropping empty entries.
std::vector<std::filesystem::path> split_path_list(const std::string &list);

}  // namespace coe::detail
