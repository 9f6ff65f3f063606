// Engine: configuration + discovery + selection at construction, then typed
// calls to the backend that serves each operation.
#include "coe/engine.hpp"

#include <omp.h>

#include <cstdlib>
#include <mutex>

#include "coe/coe_plugin.h"
#include "coe/cpu_features.hpp"
#include "analysis/backend_ops.hpp"
#include "analysis/consensus_pipeline.hpp"
#include "config/engine_config.hpp"
#include "plugins/backend_registry.hpp"
#include "plugins/plugin_discovery.hpp"
#include "resilience/backend_chain.hpp"
#include "telemetry/performance_report.hpp"
#include "telemetry/telemetry.hpp"

namespace coe {

const char *to_string(BackendStatus s) {
    switch (s) {
    case BackendStatus::active: return "active";
    case BackendStatus::available: return "available";
    case BackendStatus::rejected: return "rejected";
    }
    return "unknown";
}

namespace {

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// The backend request by precedence: api > COE_BACKEND > config file.
detail::BackendRequest backend_request(const EngineOptions &o, const detail::ConfigFile *cfg) {
    if (!o.backend.empty()) return {o.backend, "the API"};
    if (o.use_environment) {
        if (std::string b = env("COE_BACKEND"); !b.empty()) return {b, "COE_BACKEND"};
    }
    if (cfg && !cfg->backend.empty()) return {cfg->backend, "config " + cfg->file.string()};
    return {"auto", "default"};
}

// Removes `mask` and everything that depends on a removed feature.
std::uint64_t masked_features(std::uint64_t f, std::uint64_t mask) {
    f &= ~mask;
    constexpr std::uint64_t avx512_all = COE_CPU_AVX512F | COE_CPU_AVX512CD | COE_CPU_AVX512DQ |
                                         COE_CPU_AVX512BW | COE_CPU_AVX512VL | COE_CPU_AVX512VNNI |
                                         COE_CPU_AVX512FP16;
    if (!(f & COE_CPU_AVX)) f &= ~(COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_F16C | avx512_all);
    if (!(f & COE_CPU_AVX2) || !(f & COE_CPU_FMA) || !(f & COE_CPU_AVX512F)) f &= ~avx512_all;
    return f;
}

}  // namespace

class Engine::Impl {
public:
    explicit Impl(const EngineOptions &o)
        : cpu_(masked_features(probe_cpu_features(), o.mask_cpu_features)),
          resilience_(o.resilience),
          registry_(make_registry(o)),
          chain_(registry_, resilience_, telemetry_),
          ops_(chain_) {}

    std::uint64_t cpu_;
    ResilienceOptions resilience_;  // EngineOptions' plus the config file's
    detail::BackendRegistry registry_;
    detail::Telemetry telemetry_;
    detail::BackendChain chain_;
    detail::BackendOps ops_;

private:
    detail::BackendRegistry make_registry(const EngineOptions &o) {
        std::optional<detail::ConfigFile> cfg;
        std::filesystem::path config_file = o.config_file;
        if (config_file.empty() && o.use_environment) config_file = env("COE_CONFIG");
        if (!config_file.empty()) cfg = detail::read_config_file(config_file, resilience_);

        detail::SearchSources sources;
        sources.api = o.plugin_paths;
        if (o.use_environment) sources.environment = detail::split_path_list(env("COE_PLUGIN_PATH"));
        if (cfg) sources.config = cfg->plugin_paths;
        sources.default_locations = o.use_default_locations;
        return detail::BackendRegistry(detail::discover_plugins(sources), cpu_,
                                       backend_request(o, cfg ? &*cfg : nullptr));
    }
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(options)) {}
Engine::~Engine() = default;

std::uint64_t Engine::cpu_features() const { return impl_->cpu_; }
const std::vector<BackendInfo> &Engine::backends() const { return impl_->registry_.infos(); }
const std::string &Engine::active_backend() const { return impl_->registry_.active_name(); }
std::string Engine::backend_for(std::string_view operation) const {
    return impl_->chain_.chain(std::string(operation)).front()->name();
}

SparseRows Engine::featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &opt) const {
    return impl_->ops_.featurize(texts, opt);
}

Matrix Engine::similarity(const SparseRows &rows) const { return impl_->ops_.similarity(rows); }

Matrix Engine::similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const {
    return impl_->ops_.similarity(vectors, count, dimension);
}

Report Engine::analyze(const PanelView &panel, const AnalysisOptions &options) const {
    detail::CallTrace trace;
    try {
        Report r = detail::analyze_panel(impl_->ops_, panel, options, trace);
        r.backend = active_backend();
        impl_->telemetry_.record_panel(true, trace.buffer_bytes);
        return r;
    } catch (...) {
        impl_->telemetry_.record_panel(false, trace.buffer_bytes);
        throw;
    }
}

std::string Engine::performance_report() const {
    return detail::performance_report_json(impl_->telemetry_.snapshot(), impl_->chain_.breakers(), backends());
}

std::string Engine::performance_report_prometheus() const {
    return detail::performance_report_prometheus(impl_->telemetry_.snapshot(), impl_->chain_.breakers(), backends());
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
