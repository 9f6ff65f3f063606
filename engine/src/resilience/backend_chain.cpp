#include "backend_chain.hpp"

#include <algorithm>
#include <cstring>

#include "coe/coe_plugin.h"
#include "plugins/plugin_loader.hpp"

namespace coe::detail {
namespace {

const char *const operations[] = {COE_OP_FEATURIZE, COE_OP_SIMILARITY, COE_OP_CLUSTER,
                                  COE_OP_CONSENSUS, COE_OP_AGGREGATE,  COE_OP_EMBED_WORDS};

// Per-backend or per-"backend:operation" override of the default config.
BreakerConfig breaker_config(const ResilienceOptions &o, const std::string &backend, const std::string &op) {
    if (auto it = o.breakers.find(backend + ":" + op); it != o.breakers.end()) return it->second;
    if (auto it = o.breakers.find(backend); it != o.breakers.end()) return it->second;
    return o.breaker;
}

double shadow_rate(const ResilienceOptions &o, const std::string &backend, const std::string &op) {
    if (auto it = o.shadow_rates.find(backend + ":" + op); it != o.shadow_rates.end()) return it->second;
    if (auto it = o.shadow_rates.find(backend); it != o.shadow_rates.end()) return it->second;
    return o.shadow_rate;
}

}  // namespace

BackendChain::BackendChain(const BackendRegistry &registry, ResilienceOptions options, Telemetry &telemetry)
    : options_(std::move(options)),
      telemetry_(telemetry),
      faults_(options_.faults, options_.seed ? options_.seed : 0x5eed),
      seed_(options_.seed ? options_.seed : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())) {
    const auto &infos = registry.infos();
    floor_ = builtin_scalar_backend().backend;
    const std::string floor_id = floor_->id();
    const int active_score = infos[registry.active_index()].score;

    for (const char *op : operations) {
        std::vector<std::size_t> order;
        if (!options_.chain.empty()) {
            for (const auto &name : options_.chain) {
                std::size_t found = infos.size();
                for (std::size_t i = 0; i < infos.size(); ++i)
                    if (infos[i].name == name && registry.backend(i)) found = i;
                if (found == infos.size())
                    throw Error("resilience chain names backend '" + name + "', which is not available");
                order.push_back(found);
            }
        } else {
            // The active backend first, then the lower-scoring ones; for an
            // operation the active backend does not provide (a user plugin
            // that replaces one stage), every available backend by score.
            // Device backends are never demoted to; a forced one demotes to
            // every CPU backend.
            order.push_back(registry.active_index());
            const Backend *active = registry.backend(registry.active_index());
            const bool active_provides =
                active != nullptr && active->revision_of(op) != 0 && active_score != device_backend_score;
            std::vector<std::size_t> rest;
            for (std::size_t i = 0; i < infos.size(); ++i)
                if (i != registry.active_index() && registry.backend(i) && infos[i].score > device_backend_score &&
                    (!active_provides || infos[i].score <= active_score))
                    rest.push_back(i);
            std::stable_sort(rest.begin(), rest.end(),
                             [&](std::size_t a, std::size_t b) { return infos[a].score > infos[b].score; });
            order.insert(order.end(), rest.begin(), rest.end());
        }
        std::uint32_t revision = host_revision(op);
        for (std::size_t i : order)
            if (const Backend *b = registry.backend(i); b != nullptr && b->revision_of(op) != 0) {
                revision = b->revision_of(op);
                break;
            }
        revisions_[op] = revision;
        auto &links = links_[op];
        auto &chain = chains_[op];
        for (std::size_t i : order) {
            const Backend *b = registry.backend(i);
            // the scalar plugin file is replaced by the built-in floor below
            if (b == nullptr || b->find(op, revision) == nullptr || b->id() == floor_id) continue;
            if (std::find(chain.begin(), chain.end(), b) != chain.end()) continue;
            auto &breaker = breakers_[{infos[i].name, op}];
            breaker =
                std::make_unique<CircuitBreaker>(breaker_config(options_, infos[i].name, op), seed_ + breakers_.size());
            auto &shadow = shadow_states_[{infos[i].name, op}];
            const bool own = b->own_algorithm(op, revision);
            shadow = std::make_unique<ShadowState>(own ? 0 : options_.shadow_probation_calls);
            shadow->breaker_seen.store(breaker->transition_count(), std::memory_order_relaxed);
            links.push_back(
                {b, infos[i].name, breaker.get(), false, own, shadow.get(), shadow_rate(options_, infos[i].name, op)});
            chain.push_back(b);
        }
        BreakerConfig floor_config = breaker_config(options_, floor_->name(), op);
        floor_config.mode = BreakerMode::metrics_only;  // the floor never opens
        auto &breaker = breakers_[{floor_->name(), op}];
        breaker = std::make_unique<CircuitBreaker>(floor_config, seed_);
        auto &shadow = shadow_states_[{floor_->name(), op}];
        shadow = std::make_unique<ShadowState>(0);  // the reference itself
        links.push_back({floor_.get(), floor_->name(), breaker.get(), true, false, shadow.get(), 0.0});
        chain.push_back(floor_.get());
    }
}

bool BackendChain::add_device(const Backend &device, const std::string &name, const char *op, std::string &why) {
    if (device_link_.load(std::memory_order_acquire) != nullptr) {
        why = "a device was already added";
        return false;
    }
    const std::uint32_t rev = revision(op);
    if (device.find(op, rev) == nullptr) {
        why = "it does not provide " + std::string(op) + "/" + std::to_string(rev) + ", which the chain runs";
        return false;
    }
    const bool own = device.own_algorithm(op, rev);
    device_op_ = op;
    device_breaker_ =
        std::make_unique<CircuitBreaker>(breaker_config(options_, name, op), seed_ + breakers_.size() + 1);
    device_shadow_ = std::make_unique<ShadowState>(own ? 0 : options_.shadow_probation_calls);
    device_shadow_->breaker_seen.store(device_breaker_->transition_count(), std::memory_order_relaxed);
    device_storage_ = std::make_unique<Link>(
        Link{&device, name, device_breaker_.get(), false, own, device_shadow_.get(), shadow_rate(options_, name, op)});
    device_link_.store(device_storage_.get(), std::memory_order_release);
    return true;
}

const std::vector<BackendChain::Link> &BackendChain::links(const std::string &op) const {
    auto it = links_.find(op);
    if (it == links_.end()) throw Error("unknown operation " + op);
    return it->second;
}

std::uint32_t BackendChain::revision(const char *op) const {
    auto it = revisions_.find(op);
    return it == revisions_.end() ? 1 : it->second;
}

const std::vector<const Backend *> &BackendChain::chain(const std::string &op) const {
    auto it = chains_.find(op);
    if (it == chains_.end()) throw Error("unknown operation " + op);
    return it->second;
}

bool BackendChain::sample_shadow(double rate) const {
    if (rate <= 0) return false;
    return uniform_draw(seed_ ^ 0x51ad0, draws_.fetch_add(1, std::memory_order_relaxed)) < rate;
}

bool BackendChain::on_probation(const Link &link) const {
    if (options_.shadow_probation_calls == 0) return false;
    const std::uint64_t now = link.breaker->transition_count();
    std::uint64_t seen = link.shadow->breaker_seen.load(std::memory_order_relaxed);
    if (now != seen && link.shadow->breaker_seen.compare_exchange_strong(seen, now, std::memory_order_relaxed))
        link.shadow->probation.store(options_.shadow_probation_calls, std::memory_order_relaxed);
    return link.shadow->probation.load(std::memory_order_relaxed) > 0;
}

void BackendChain::judge_speed(const Link &link, const char *op, double ms, double scalar_ms, bool judge,
                               CallTrace *trace) {
    std::uint32_t left = link.shadow->probation.load(std::memory_order_relaxed);
    while (left > 0 && !link.shadow->probation.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {}
    const BreakerConfig &c = link.breaker->config();
    if (!judge || c.slower_than_reference_calls == 0) return;
    const bool slower = ms > c.slower_factor * scalar_ms && ms - scalar_ms > 1.0;
    if (!slower) {
        link.shadow->slower_streak.store(0, std::memory_order_relaxed);
        return;
    }
    if (link.shadow->slower_streak.fetch_add(1, std::memory_order_relaxed) + 1 < c.slower_than_reference_calls) return;
    link.shadow->slower_streak.store(0, std::memory_order_relaxed);
    const std::string why = "slower than the scalar reference: " + std::to_string(ms) + " ms vs " +
                            std::to_string(scalar_ms) + " ms, " + std::to_string(c.slower_than_reference_calls) +
                            " shadow-checked calls in a row";
    link.breaker->trip(why, Clock::now());
    telemetry_.record_failure(link.name, op, "slower_than_reference");
    note(trace, link.name + " " + op + ": " + why);
}

void CallTrace::serve(const char *op, const std::string &backend) {
    for (auto &[served_op, name] : served_by)
        if (std::strcmp(served_op, op) == 0) {
            name = backend;
            return;
        }
    served_by.emplace_back(op, backend);
}

void CallTrace::clear() {
    served_by.clear();
    degraded = false;
    events.clear();
    buffer_bytes = 0;
}

void BackendChain::note(CallTrace *trace, const std::string &text) const {
    if (trace) trace->events.push_back(text);
}

std::vector<BreakerView> BackendChain::breakers() const {
    std::vector<BreakerView> out;
    for (const auto &[key, breaker] : breakers_) {
        const auto shadow = shadow_states_.find(key);
        const std::uint32_t probation =
            shadow == shadow_states_.end() ? 0 : shadow->second->probation.load(std::memory_order_relaxed);
        out.push_back({key.first, key.second, breaker->state(), breaker->slow_threshold_ms(), breaker->transitions(),
                       breaker->transition_count(), probation});
    }
    if (const Link *device = device_link_.load(std::memory_order_acquire); device != nullptr)
        out.push_back({device->name, device_op_, device->breaker->state(), device->breaker->slow_threshold_ms(),
                       device->breaker->transitions(), device->breaker->transition_count(),
                       device->shadow->probation.load(std::memory_order_relaxed)});
    return out;
}

}  // namespace coe::detail
