#include "backend_registry.hpp"

#include <map>

#include "coe/error.hpp"
#include "plugins/elf_manifest.hpp"
#include "plugins/isolated_plugin.hpp"
#include "plugins/isolation_policy.hpp"

namespace coe::detail {

BackendRegistry::BackendRegistry(const std::vector<PluginCandidate> &candidates, std::uint64_t cpu_features,
                                 const BackendRequest &request, const PluginProber *prober,
                                 const IsolationPolicy *isolation) {
    std::map<std::string, std::string> taken_ids;
    auto add = [&](LoadOutcome o) {
        if (o.backend) taken_ids.emplace(o.info.id, o.info.file);
        infos_.push_back(std::move(o.info));
        backends_.push_back(std::move(o.backend));
    };
    const bool forced = !(request.name.empty() || request.name == "auto");
    for (const auto &c : candidates) {
        if (!request.load_devices) {
            // a device backend is loaded only when named: its manifest says
            // which it is, and none of its code runs until then
            const auto manifest = read_plugin_manifest(c.file);
            const auto *m = std::get_if<coe_plugin_manifest>(&manifest);
            if (m != nullptr && is_device_backend(m->id) &&
                !(forced && (request.name == m->name || request.name == m->id))) {
                LoadOutcome o;
                describe_manifest(o.info, *m);
                std::error_code ec;
                o.info.file = std::filesystem::absolute(c.file, ec).lexically_normal().string();
                o.info.source = c.source;
                o.info.status = BackendStatus::not_loaded;
                o.info.isolation = isolation != nullptr && isolation->isolates(c) ? "process" : "in_process";
                o.info.reason =
                    std::string("a device backend: loaded only when requested by name (--backend ") + m->name + ")";
                add(std::move(o));
                continue;
            }
        }
        add(load_plugin(c, cpu_features, taken_ids, prober, nullptr, isolation));
    }
    LoadOutcome builtin = builtin_scalar_backend();
    if (taken_ids.count(builtin.info.id) == 0) add(std::move(builtin));

    const bool automatic = request.name.empty() || request.name == "auto";
    if (automatic) {
        std::size_t best = infos_.size();
        for (std::size_t i = 0; i < infos_.size(); ++i)
            if (backends_[i] && infos_[i].score > device_backend_score &&
                (best == infos_.size() || infos_[i].score > infos_[best].score))
                best = i;
        active_ = best;  // the scalar floor guarantees one exists
        infos_[active_].reason = "highest score (" + std::to_string(infos_[active_].score) + ")";
    } else {
        std::size_t match = infos_.size();
        std::string why_not;
        for (std::size_t i = 0; i < infos_.size(); ++i) {
            if (infos_[i].name != request.name && infos_[i].id != request.name) continue;
            if (backends_[i]) {
                match = i;
                break;
            }
            if (why_not.empty()) why_not = infos_[i].reason;
        }
        if (match == infos_.size()) {
            if (!why_not.empty())
                throw Error("backend '" + request.name + "' requested by " + request.requested_by +
                            " cannot be used: " + why_not);
            std::string known;
            for (const auto &info : infos_)
                if (!info.name.empty()) known += (known.empty() ? "" : ", ") + info.name;
            throw Error("backend '" + request.name + "' requested by " + request.requested_by +
                        " is unknown (candidates: " + known + ")");
        }
        active_ = match;
        const bool device = infos_[active_].score == device_backend_score;  // keep the device's name
        infos_[active_].reason = "forced by " + request.requested_by + (device ? ": " + infos_[active_].reason : "");
    }
    infos_[active_].status = BackendStatus::active;
}

std::vector<BackendInfo> BackendRegistry::live_infos() const {
    std::vector<BackendInfo> infos = infos_;
    for (std::size_t i = 0; i < infos.size(); ++i)
        if (backends_[i] && backends_[i]->isolated()) infos[i].worker_restarts = backends_[i]->isolated()->restarts();
    return infos;
}

}  // namespace coe::detail
