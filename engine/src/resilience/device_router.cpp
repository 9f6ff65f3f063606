#include "device_router.hpp"

#include <cstdint>
#include <map>

#include "coe/coe_plugin.h"

namespace coe {

const char *to_string(DeviceRouting mode) { return mode == DeviceRouting::off ? "off" : "auto"; }

std::optional<DeviceRouting> device_routing_from_string(std::string_view name) {
    if (name == "auto") return DeviceRouting::automatic;
    if (name == "off") return DeviceRouting::off;
    return std::nullopt;
}

}  // namespace coe

namespace coe::detail {

DeviceRouter::DeviceRouter(const BackendRegistry &registry, BackendChain &chain, const DeviceRoutingSettings &settings,
                           const RoutingBlock &block, DeviceLoader load)
    : chain_(chain), settings_(settings), load_(std::move(load)), index_(SIZE_MAX) {
    const auto &infos = registry.infos();
    for (std::size_t i = 0; i < infos.size() && index_ == SIZE_MAX; ++i)
        if (is_device_backend(infos[i].id.c_str()) && infos[i].status != BackendStatus::rejected) index_ = i;
    if (index_ == SIZE_MAX) return;
    const BackendInfo &info = infos[index_];
    if (info.status == BackendStatus::active) return;  // forced by name: every call goes to it already
    std::lock_guard<std::mutex> lock(mutex_);
    const Backend *backend = registry.backend(index_);  // loaded already (load_device_backends), or null
    if (backend != nullptr && backend->descriptor().description != nullptr)
        description_ = backend->descriptor().description;
    if (settings_.mode == DeviceRouting::off) {
        note_ = "not routed: device routing is off";
    } else if (!block.forced.empty()) {
        note_ = "not routed: backend " + block.forced + " is forced";
    } else if (block.explicit_chain) {
        note_ = "not routed: the resilience chain is set";
    } else if (backend != nullptr) {
        judge(info, *backend);  // judged now
    } else {
        candidate_ = {info.file, info.source};
        lazy_ = true;
    }
}

bool DeviceRouter::route_dense(std::uint32_t count, std::uint64_t dimension) {
    const std::uint64_t work = dense_similarity_multiply_adds(count, dimension);
    if (ready_.load(std::memory_order_acquire)) return work >= settings_.min_multiply_adds;
    if (!lazy_ || work < settings_.min_multiply_adds) return false;
    // the device starts once the large calls seen would have paid for it
    // (the sum saturates: it only has to reach the setting)
    const std::uint64_t before = seen_.fetch_add(work, std::memory_order_relaxed);
    const std::uint64_t total = before > UINT64_MAX - work ? UINT64_MAX : before + work;
    if (total < settings_.start_multiply_adds) return false;
    std::call_once(once_, [this] { load(); });
    return ready_.load(std::memory_order_acquire);
}

void DeviceRouter::load() {
    LoadOutcome outcome;
    try {
        outcome = load_(candidate_);
    } catch (const std::exception &e) {  // load_plugin never throws; a loader that does disables routing
        outcome.info.status = BackendStatus::rejected;
        outcome.info.reason = e.what();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    loaded_info_ = outcome.info;
    loaded_ = outcome.backend;
    if (!loaded_) {
        note_ = "not routed: the plugin was rejected when first needed";
        return;
    }
    const char *description = loaded_->descriptor().description;
    description_ = description != nullptr ? description : "";
    judge(*loaded_info_, *loaded_);
}

void DeviceRouter::judge(const BackendInfo &info, const Backend &backend) {
    const std::string forces = " (--backend " + info.name + " forces it)";
    if (!info.device) {
        note_ = std::string("not routed: the plugin does not say which device it runs on (coe.device/1") +
                (backend.isolated() != nullptr ? "; it runs in a worker process, which does not pass it on)" : ")") +
                forces;
        return;
    }
    const std::string named = info.device->name.empty() ? "" : " (" + info.device->name + ")";
    if (info.device->type == "cpu" && !settings_.route_cpu_devices) {
        note_ = "not routed: CPU-type device" + named + " is never chosen automatically" + forces;
        return;
    }
    if (info.device->type == "other") {
        note_ = "not routed: device of unknown type" + named + " is never chosen automatically" + forces;
        return;
    }
    std::string why;
    if (!chain_.add_device(backend, info.name, COE_OP_SIMILARITY, why)) {
        note_ = "not routed: " + why;
        return;
    }
    note_ = "routed: dense similarity calls of at least " + std::to_string(settings_.min_multiply_adds) +
            " multiply-adds go to it first" +
            (info.device->type == "cpu" ? " (a CPU-type device, allowed for tests)" : "");
    ready_.store(true, std::memory_order_release);
}

void DeviceRouter::describe(std::vector<BackendInfo> &infos) const {
    if (index_ >= infos.size() || infos[index_].status == BackendStatus::active) return;
    BackendInfo &entry = infos[index_];
    std::lock_guard<std::mutex> lock(mutex_);
    if (loaded_info_) {
        entry = *loaded_info_;
        if (loaded_ && loaded_->isolated() != nullptr) entry.worker_restarts = loaded_->isolated()->restarts();
    }
    if (lazy_ && !loaded_info_) {
        const std::string size = std::to_string(settings_.min_multiply_adds) + " multiply-adds";
        entry.reason =
            "a device backend: loaded " +
            (settings_.start_multiply_adds == 0 ? "on the first dense similarity call of at least " + size
                                                : "when dense similarity calls of at least " + size + " add up to " +
                                                      std::to_string(settings_.start_multiply_adds)) +
            " (device routing), or when requested by name (--backend " + entry.name + ")";
        return;
    }
    if (note_.empty()) return;
    if (entry.status == BackendStatus::available)
        entry.reason = (description_.empty() ? "a device backend" : description_) + "; " + note_;
    else entry.reason += "; " + note_;
}

}  // namespace coe::detail
