// backend_registry.hpp - every candidate's verdict, and which backend serves
// which operation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "coe/backend_info.hpp"
#include "plugin_loader.hpp"

namespace coe::detail {

// The backend a caller asked for, and who asked ("api", "COE_BACKEND",
// "config <file>"); an empty name or "auto" means the best available.
struct BackendRequest {
    std::string name;
    std::string requested_by;
    bool load_devices = false;  // load device backends (else: not_loaded unless `name` names one)
};

// Immutable once built; safe to read from any thread.
class BackendRegistry {
public:
    // Loads every candidate, adds the built-in scalar backend unless a scalar
    // plugin file was loaded, and activates the requested or best backend.
    // Throws coe::Error if the request names an unknown or unusable backend.
    // `prober` (may be null: no probing) admits each file before it is loaded;
    // `isolation` (may be null: all in process) sends files to worker processes.
    BackendRegistry(const std::vector<PluginCandidate> &candidates, std::uint64_t cpu_features,
                    const BackendRequest &request, const PluginProber *prober,
                    const IsolationPolicy *isolation = nullptr);

    const std::vector<BackendInfo> &infos() const { return infos_; }
    const std::string &active_name() const { return infos_[active_].name; }
    std::size_t active_index() const { return active_; }
    // The loaded backend of infos()[i], or nullptr if it was rejected.
    const Backend *backend(std::size_t i) const { return backends_[i].get(); }
    // infos() with each isolated backend's worker restarts counted now.
    std::vector<BackendInfo> live_infos() const;

private:
    std::vector<BackendInfo> infos_;
    std::vector<std::shared_ptr<Backend>> backends_;  // parallel to infos_; null when rejected
    std::size_t active_ = 0;
};

}  // namespace coe::detail
