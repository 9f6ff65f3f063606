// plugin_loader.hpp - turns one candidate file into a Backend, or a reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "backend.hpp"
#include "coe/backend_info.hpp"

namespace coe::detail {

struct PluginCandidate {
    std::filesystem::path file;
    std::string source;  // api, COE_PLUGIN_PATH, config, install, build-tree
};

struct LoadOutcome {
    BackendInfo info;                  // status is `available` or `rejected`
    std::shared_ptr<Backend> backend;  // null when rejected
};

class PluginProber;
class IsolationPolicy;

// Reads the manifest, checks ABI, id (against `taken_ids`: id -> file that
// already provides it) and CPU requirements, all without loading; then asks
// `prober` (if any) whether the file may be loaded into this process; then
// loads the library, resolves the entry point and validates the descriptor.
// `on_phase` (if any) is told "load" and "entry" as each begins.  A file
// that `isolation` (if any) isolates is not probed nor loaded here: a worker
// process loads it (plugins/isolated_plugin.hpp), and the backend calls it
// there.  Never throws; a bad file becomes a rejection with its reason.
LoadOutcome load_plugin(const PluginCandidate &candidate, std::uint64_t cpu_features,
                        const std::map<std::string, std::string> &taken_ids, const PluginProber *prober = nullptr,
                        void (*on_phase)(const char *) = nullptr, const IsolationPolicy *isolation = nullptr);

// Name, id, version, ABI and CPU requirements as the manifest states them.
void describe_manifest(BackendInfo &info, const coe_plugin_manifest &manifest);

// "device:inode:size:mtime" of a file, or "missing": tells a replaced file
// from the one loaded before.
std::string file_identity(const std::filesystem::path &file);

// The built-in scalar backend that is linked into the engine.
LoadOutcome builtin_scalar_backend();

// 0 for an unusable backend, otherwise higher for wider ISAs.
int backend_score(std::uint64_t required_features);

// Device backends run their operations on an accelerator (the engine's own
// Vulkan backend, known by its id).  They score below every CPU backend and
// are never chosen automatically nor demoted to: only a request by name
// (--backend, COE_BACKEND, config, a resilience chain) uses one, because
// whether a device pays depends on the device and the size of the call.
constexpr int device_backend_score = 1;
bool is_device_backend(const char *id);

// A COE_DEVICE_TYPE_* value as DeviceInfo::type names it ("discrete_gpu",
// ..., "cpu"; "other" for any value this host does not know).
const char *device_type_name(std::uint32_t type);

}  // namespace coe::detail
