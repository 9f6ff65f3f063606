// device_router.hpp - per-call routing of large dense similarity calls to a
// device backend (coe/device_routing.hpp): loads the device plugin lazily on
// the first call that reaches the size, judges its device once, and adds it
// to the chain as the first link of the calls routed to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analysis/backend_ops.hpp"
#include "backend_chain.hpp"
#include "coe/backend_info.hpp"
#include "coe/device_routing.hpp"
#include "plugins/backend_registry.hpp"
#include "plugins/plugin_loader.hpp"

namespace coe::detail {

// The settings in effect, resolved from EngineOptions, the environment and
// the config file (engine.cpp).
struct DeviceRoutingSettings {
    DeviceRouting mode = DeviceRouting::automatic;
    std::uint64_t min_multiply_adds = kDefaultDeviceMinMultiplyAdds;
    std::uint64_t start_multiply_adds = kDefaultDeviceStartMultiplyAdds;
    bool route_cpu_devices = false;  // for tests: a CPU-type device (lavapipe) too
};

// Loads one plugin file as the engine loads every file (its CPU features,
// probe and isolation); called at most once per router.
using DeviceLoader = std::function<LoadOutcome(const PluginCandidate &)>;

// Why a router never routes, when that is known at construction.
struct RoutingBlock {
    std::string forced;  // the forced backend's name, if a backend was forced
    bool explicit_chain = false;
};

// Thread-safe: route_dense() and describe() may be called from any thread.
class DeviceRouter final : public DenseCallRouter {
public:
    // Finds the first device backend among the registry's candidates.  One
    // already loaded (EngineOptions::load_device_backends) is judged now; one
    // not loaded is loaded by the first dense call of at least the size.
    DeviceRouter(const BackendRegistry &registry, BackendChain &chain, const DeviceRoutingSettings &settings,
                 const RoutingBlock &block, DeviceLoader load);

    bool route_dense(std::uint32_t count, std::uint64_t dimension) override;

    // Brings the device backend's entry of `infos` (the registry's) up to
    // date: loaded or rejected since, and whether it is routed to and why.
    void describe(std::vector<BackendInfo> &infos) const;

private:
    void load();
    // Decides whether `backend` (loaded, described by `info`) is routed to;
    // called once, with mutex_ held.
    void judge(const BackendInfo &info, const Backend &backend);

    BackendChain &chain_;
    const DeviceRoutingSettings settings_;
    DeviceLoader load_;
    std::size_t index_;  // the device backend's entry in the registry's infos; SIZE_MAX: none
    PluginCandidate candidate_;
    bool lazy_ = false;  // routing enabled, the device not loaded yet (fixed at construction)
    std::once_flag once_;
    std::atomic<std::uint64_t> seen_{0};      // multiply-adds of the large calls before the device started
    std::atomic<bool> ready_{false};          // the chain has the device link: route
    mutable std::mutex mutex_;                // guards the members below
    std::optional<BackendInfo> loaded_info_;  // the entry once loaded here
    std::shared_ptr<Backend> loaded_;         // keeps the backend loaded here alive
    std::string description_;                 // the plugin's description, once loaded
    std::string note_;                        // "routed: ..." or "not routed: ..."
};

}  // namespace coe::detail
