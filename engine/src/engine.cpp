// Engine: configuration + discovery + selection at construction, then typed
// calls to the backend that serves each operation.
#include "coe/engine.hpp"

#include <omp.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "coe/coe_plugin.h"
#include "coe/cpu_features.hpp"
#include "analysis/backend_ops.hpp"
#include "analysis/consensus_pipeline.hpp"
#include "config/engine_config.hpp"
#include "features/word_vector_source.hpp"
#include "plugins/backend_registry.hpp"
#include "plugins/isolation_policy.hpp"
#include "plugins/plugin_discovery.hpp"
#include "plugins/plugin_probe.hpp"
#include "resilience/backend_chain.hpp"
#include "resilience/device_router.hpp"
#include "telemetry/performance_report.hpp"
#include "telemetry/telemetry.hpp"

namespace coe {

const char *to_string(BackendStatus s) {
    switch (s) {
    case BackendStatus::active: return "active";
    case BackendStatus::available: return "available";
    case BackendStatus::rejected: return "rejected";
    case BackendStatus::not_loaded: return "not_loaded";
    }
    return "unknown";
}

namespace {

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// Decimal digits only, within 64 bits.
std::optional<std::uint64_t> parse_whole_number(const std::string &text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    for (char ch : text) {
        if (ch < '0' || ch > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(ch - '0');
        if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
        n = n * 10 + digit;
    }
    return n;
}

// The backend request by precedence: api > COE_BACKEND > config file.
// `resilience`: the options' and the config file's, merged.
detail::BackendRequest backend_request(const EngineOptions &o, const detail::ConfigFile *cfg,
                                       const ResilienceOptions &resilience) {
    detail::BackendRequest r{"auto", "default", o.load_device_backends};
    if (!o.backend.empty()) r = {o.backend, "the API", o.load_device_backends};
    else if (std::string b = o.use_environment ? env("COE_BACKEND") : ""; !b.empty())
        r = {b, "COE_BACKEND", o.load_device_backends};
    else if (cfg && !cfg->backend.empty()) r = {cfg->backend, "config " + cfg->file.string(), o.load_device_backends};
    // a resilience chain may name a device backend
    if (!resilience.chain.empty()) r.load_devices = true;
    return r;
}

// The isolation mode by precedence: api > COE_PLUGIN_ISOLATION > config file > auto.
PluginIsolation isolation_mode(const EngineOptions &o, const detail::ConfigFile *cfg) {
    if (o.plugin_isolation.mode) return *o.plugin_isolation.mode;
    if (std::string e = o.use_environment ? env("COE_PLUGIN_ISOLATION") : ""; !e.empty()) {
        const auto mode = plugin_isolation_from_string(e);
        if (!mode) throw Error("COE_PLUGIN_ISOLATION: '" + e + "' is not one of auto, in_process, process");
        return *mode;
    }
    if (cfg && cfg->plugin_isolation) return *cfg->plugin_isolation;
    return PluginIsolation::automatic;
}

// Device routing by precedence, each setting on its own: api > environment >
// config file > default.
detail::DeviceRoutingSettings device_routing(const EngineOptions &o, const detail::ConfigFile *cfg) {
    detail::DeviceRoutingSettings s;
    const DeviceRoutingOptions &api = o.device_routing;
    if (api.mode) s.mode = *api.mode;
    else if (std::string e = o.use_environment ? env("COE_DEVICE_ROUTING") : ""; !e.empty()) {
        const auto mode = device_routing_from_string(e);
        if (!mode) throw Error("COE_DEVICE_ROUTING: '" + e + "' is not one of auto, off");
        s.mode = *mode;
    } else if (cfg && cfg->device_routing) s.mode = *cfg->device_routing;
    // a count of multiply-adds: the api's, else the environment's, else the file's, else the default
    auto count = [&](const std::optional<std::uint64_t> &from_api, const char *variable,
                     const std::optional<std::uint64_t> &from_file, std::uint64_t &into) {
        if (from_api) into = *from_api;
        else if (std::string e = o.use_environment ? env(variable) : ""; !e.empty()) {
            const auto n = parse_whole_number(e);
            if (!n) throw Error(std::string(variable) + ": '" + e + "' is not a whole number of multiply-adds");
            into = *n;
        } else if (from_file) into = *from_file;
    };
    const std::optional<std::uint64_t> none;
    count(api.min_multiply_adds, "COE_DEVICE_MIN_MULTIPLY_ADDS", cfg ? cfg->device_min_multiply_adds : none,
          s.min_multiply_adds);
    count(api.start_multiply_adds, "COE_DEVICE_START_MULTIPLY_ADDS", cfg ? cfg->device_start_multiply_adds : none,
          s.start_multiply_adds);
    s.route_cpu_devices = api.route_cpu_devices;
    if (std::string e = o.use_environment ? env("COE_DEVICE_ROUTING_ALLOW_CPU") : ""; !e.empty()) {
        if (e != "0" && e != "1") throw Error("COE_DEVICE_ROUTING_ALLOW_CPU: '" + e + "' is not 0 or 1");
        s.route_cpu_devices = s.route_cpu_devices || e == "1";
    }
    return s;
}

// Removes `mask` and everything that depends on a removed feature.
std::uint64_t masked_features(std::uint64_t f, std::uint64_t mask) {
    f &= ~mask;
    constexpr std::uint64_t avx512_all = COE_CPU_AVX512F | COE_CPU_AVX512CD | COE_CPU_AVX512DQ | COE_CPU_AVX512BW |
                                         COE_CPU_AVX512VL | COE_CPU_AVX512VNNI | COE_CPU_AVX512FP16;
    if (!(f & COE_CPU_AVX)) f &= ~(COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_F16C | avx512_all);
    if (!(f & COE_CPU_AVX2) || !(f & COE_CPU_FMA) || !(f & COE_CPU_AVX512F)) f &= ~avx512_all;
    return f;
}

}  // namespace

// Everything a set of loaded plugins determines.  Immutable once built,
// except the breakers inside the chain (which lock themselves).  A reload
// builds a new State and swaps it in; calls in flight keep the old one alive.
struct EngineState {
    EngineState(detail::BackendRegistry reg, const ResilienceOptions &resilience, detail::Telemetry &telemetry,
                const detail::DeviceRoutingSettings &routing, const detail::RoutingBlock &block,
                detail::DeviceLoader load)
        : registry(std::move(reg)),
          chain(registry, resilience, telemetry),
          router(registry, chain, routing, block, std::move(load)),
          ops(chain, &router) {}
    EngineState(const EngineState &) = delete;
    EngineState &operator=(const EngineState &) = delete;

    // Every candidate as it stands now (a device backend may have been
    // loaded by routing since the registry was built).
    std::vector<BackendInfo> infos() const {
        std::vector<BackendInfo> out = registry.live_infos();
        router.describe(out);
        return out;
    }

    detail::BackendRegistry registry;
    detail::BackendChain chain;
    detail::DeviceRouter router;
    detail::BackendOps ops;
    std::string files_signature;  // identities of the plugin files when discovered
};

class Engine::Impl {
public:
    explicit Impl(const EngineOptions &o)
        : options_(o),
          cpu_(masked_features(probe_cpu_features(), o.mask_cpu_features)),
          state_(build_state()),
          word_vectors_(word_vectors_file(), options_.use_default_locations) {
        sources_.default_kind = options_.features.value_or(config_features_.value_or(FeatureKind::automatic));
        sources_.word_vectors = &word_vectors_;
    }

    ~Impl() { stop_watch(); }

    std::shared_ptr<EngineState> state() const {
        std::lock_guard<std::mutex> lock(state_mutex_);
        return state_;
    }

    void reload() {
        std::shared_ptr<EngineState> fresh = build_state();  // throws: the old state stays
        std::lock_guard<std::mutex> lock(state_mutex_);
        state_ = std::move(fresh);
    }

    // Polls the plugin files' identities; any change triggers a reload.
    void watch(std::chrono::milliseconds interval) {
        stop_watch();
        std::lock_guard<std::mutex> lock(watch_mutex_);
        stop_ = false;
        watcher_ = std::thread([this, interval] {
            std::string failed;  // signature whose reload failed: retried once it changes again
            std::unique_lock<std::mutex> wait_lock(watch_mutex_);
            while (!watch_cv_.wait_for(wait_lock, interval, [this] { return stop_; })) {
                wait_lock.unlock();
                const std::string now = plugin_files_signature();
                if (now != state()->files_signature && now != failed) {
                    try {
                        reload();
                    } catch (const std::exception &) {
                        failed = now;  // a half-written or bad file: keep serving
                    }
                }
                wait_lock.lock();
            }
        });
    }

    void stop_watch() {
        {
            std::lock_guard<std::mutex> lock(watch_mutex_);
            stop_ = true;
        }
        watch_cv_.notify_all();
        if (watcher_.joinable()) watcher_.join();
    }

    const EngineOptions options_;
    const std::uint64_t cpu_;
    detail::Telemetry telemetry_;  // survives reloads

    const detail::FeatureSources &feature_sources() const { return sources_; }

private:
    // The API's file, else the config file's (read by build_state), else none (search).
    std::filesystem::path word_vectors_file() const {
        return !options_.word_vectors_file.empty() ? options_.word_vectors_file : config_word_vectors_file_;
    }

    detail::SearchSources sources(const detail::ConfigFile *cfg) const {
        detail::SearchSources s;
        s.api = options_.plugin_paths;
        if (options_.use_environment) s.environment = detail::split_path_list(env("COE_PLUGIN_PATH"));
        if (cfg) s.config = cfg->plugin_paths;
        s.default_locations = options_.use_default_locations;
        if (s.default_locations) s.package = options_.package_plugin_dir;
        return s;
    }

    std::optional<detail::ConfigFile> read_config(ResilienceOptions &resilience, PluginProbeOptions &probe) const {
        std::filesystem::path config_file = options_.config_file;
        if (config_file.empty() && options_.use_environment) config_file = env("COE_CONFIG");
        if (config_file.empty()) return std::nullopt;
        return detail::read_config_file(config_file, resilience, probe);
    }

    std::shared_ptr<EngineState> build_state() {
        ResilienceOptions resilience = options_.resilience;  // plus the config file's
        PluginProbeOptions probe = options_.plugin_probe;    // likewise
        const std::optional<detail::ConfigFile> cfg = read_config(resilience, probe);
        if (cfg) {
            config_features_ = cfg->features;
            config_word_vectors_file_ = cfg->word_vectors_file;
        }
        // kept by the device loader: routing may load a plugin long after
        auto prober = std::make_shared<const detail::PluginProber>(probe);
        const detail::ConfigFile *c = cfg ? &*cfg : nullptr;
        PluginIsolationOptions isolation_options = options_.plugin_isolation;
        if (c && c->call_timeout) isolation_options.call_timeout = *c->call_timeout;
        std::vector<std::filesystem::path> own_folders{options_.package_plugin_dir};
        for (const auto &[folder, source] : detail::default_plugin_folders()) own_folders.push_back(folder);
        auto isolation = std::make_shared<const detail::IsolationPolicy>(isolation_mode(options_, c), isolation_options,
                                                                         own_folders);
        const detail::DeviceRoutingSettings routing = device_routing(options_, c);
        const std::vector<detail::PluginCandidate> candidates = detail::discover_plugins(sources(c));
        const std::string signature = signature_of(candidates);
        const detail::BackendRequest request = backend_request(options_, c, resilience);
        detail::BackendRegistry registry(candidates, cpu_, request, prober.get(), isolation.get());
        detail::RoutingBlock block;
        if (!(request.name.empty() || request.name == "auto")) block.forced = registry.active_name();
        block.explicit_chain = !resilience.chain.empty();
        std::map<std::string, std::string> taken_ids;  // what the device's id may not collide with
        for (std::size_t i = 0; i < registry.infos().size(); ++i)
            if (registry.backend(i) != nullptr) taken_ids.emplace(registry.infos()[i].id, registry.infos()[i].file);
        detail::DeviceLoader load = [cpu = cpu_, taken_ids, prober, isolation](const detail::PluginCandidate &file) {
            return detail::load_plugin(file, cpu, taken_ids, prober.get(), nullptr, isolation.get());
        };
        auto state =
            std::make_shared<EngineState>(std::move(registry), resilience, telemetry_, routing, block, std::move(load));
        state->files_signature = signature;
        return state;
    }

    static std::string signature_of(const std::vector<detail::PluginCandidate> &candidates) {
        std::string sig;
        for (const auto &c : candidates) sig += c.file.string() + "=" + detail::file_identity(c.file) + "\n";
        return sig;
    }

    std::string plugin_files_signature() const {
        ResilienceOptions ignored;
        PluginProbeOptions ignored_probe;
        std::optional<detail::ConfigFile> cfg;
        try {
            cfg = read_config(ignored, ignored_probe);
        } catch (const std::exception &) {}
        return signature_of(detail::discover_plugins(sources(cfg ? &*cfg : nullptr)));
    }

    // from the config file, read before state_ is built (members in this order)
    std::optional<FeatureKind> config_features_;
    std::filesystem::path config_word_vectors_file_;
    mutable std::mutex state_mutex_;
    std::shared_ptr<EngineState> state_;
    detail::WordVectorSource word_vectors_;
    detail::FeatureSources sources_;

    std::mutex watch_mutex_;
    std::condition_variable watch_cv_;
    bool stop_ = true;
    std::thread watcher_;
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(options)) {}
Engine::~Engine() = default;

std::uint64_t Engine::cpu_features() const { return impl_->cpu_; }
std::vector<BackendInfo> Engine::backends() const { return impl_->state()->infos(); }
std::string Engine::active_backend() const { return impl_->state()->registry.active_name(); }
std::string Engine::backend_for(std::string_view operation) const {
    return impl_->state()->chain.chain(std::string(operation)).front()->name();
}

void Engine::reload_plugins() { impl_->reload(); }
void Engine::watch_plugins(std::chrono::milliseconds interval) { impl_->watch(interval); }

SparseRows Engine::featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &opt) const {
    return impl_->state()->ops.featurize(texts, opt);
}

WordEmbeddings Engine::embed_words(const std::vector<std::string_view> &texts, const coe_word_table &table) const {
    WordEmbeddings out;
    impl_->state()->ops.embed_words(texts, table, out);
    return out;
}

Matrix Engine::similarity(const SparseRows &rows) const { return impl_->state()->ops.similarity(rows); }

Matrix Engine::similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const {
    return impl_->state()->ops.similarity(vectors, count, dimension);
}

namespace {

void analyze_with(const EngineState &state, detail::Telemetry &telemetry, const detail::FeatureSources &sources,
                  const PanelView &panel, const AnalysisOptions &options, Report &report, detail::Fill fill) {
    thread_local detail::CallTrace trace;  // cleared per panel, its capacity kept
    trace.clear();
    try {
        detail::analyze_panel(state.ops, panel, options, sources, trace, report, fill);
        report.backend.assign(state.registry.active_name());
        telemetry.record_panel(true, trace.buffer_bytes);
    } catch (...) {
        telemetry.record_panel(false, trace.buffer_bytes);
        throw;
    }
}

}  // namespace

// state() hands out a shared_ptr that lives to the end of the call: the whole
// call runs on one set of plugins.
Report Engine::analyze(const PanelView &panel, const AnalysisOptions &options) const {
    Report report;  // sized to fit: callers keep many of these
    analyze_with(*impl_->state(), impl_->telemetry_, impl_->feature_sources(), panel, options, report,
                 detail::Fill::fresh);
    return report;
}

void Engine::analyze_into(const PanelView &panel, Report &report, const AnalysisOptions &options) const {
    analyze_with(*impl_->state(), impl_->telemetry_, impl_->feature_sources(), panel, options, report,
                 detail::Fill::reused);
}

std::string Engine::performance_report() const {
    const auto state = impl_->state();
    return detail::performance_report_json(impl_->telemetry_.snapshot(), state->chain.breakers(), state->infos());
}

std::string Engine::performance_report_prometheus() const {
    const auto state = impl_->state();
    return detail::performance_report_prometheus(impl_->telemetry_.snapshot(), state->chain.breakers(), state->infos());
}

std::vector<Engine::BatchResult> Engine::analyze_batch(const std::vector<PanelView> &panels,
                                                       const AnalysisOptions &options, unsigned threads,
                                                       const Progress &progress) const {
    std::vector<BatchResult> results(panels.size());
    std::mutex progress_mutex;
    std::exception_ptr progress_error;  // a throwing callback must not escape the parallel region
    std::size_t finished = 0;
    const auto count = static_cast<std::int64_t>(panels.size());
    const int team = threads > 0 ? static_cast<int>(std::min<unsigned>(threads, 4096)) : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
    for (std::int64_t i = 0; i < count; ++i) {
        auto &out = results[static_cast<std::size_t>(i)];
        try {
            out.report = analyze(panels[static_cast<std::size_t>(i)], options);
        } catch (const std::exception &e) {
            out.error = e.what();
        } catch (...) {
            out.error = "unknown error";
        }
        if (progress) {
            std::lock_guard<std::mutex> lock(progress_mutex);
            ++finished;
            if (!progress_error) {
                try {
                    progress(finished, panels.size());
                } catch (...) {
                    progress_error = std::current_exception();
                }
            }
        }
    }
    if (progress_error) std::rethrow_exception(progress_error);
    return results;
}

}  // namespace coe
