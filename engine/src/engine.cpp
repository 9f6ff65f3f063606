// Engine: configuration + discovery + selection at construction, then typed
// calls to the backend that serves each operation.
#include "coe/engine.hpp"

#include <cstdlib>

#include "coe/coe_plugin.h"
#include "coe/cpu_features.hpp"
#include "config/engine_config.hpp"
#include "plugins/backend_registry.hpp"
#include "plugins/plugin_discovery.hpp"

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
    if (!(f & COE_CPU_AVX512F)) f &= ~avx512_all;
    return f;
}

}  // namespace

class Engine::Impl {
public:
    explicit Impl(const EngineOptions &o)
        : cpu_(masked_features(probe_cpu_features(), o.mask_cpu_features)), registry_(make_registry(o)) {}

    std::uint64_t cpu_;
    detail::BackendRegistry registry_;

private:
    detail::BackendRegistry make_registry(const EngineOptions &o) const {
        std::optional<detail::ConfigFile> cfg;
        std::filesystem::path config_file = o.config_file;
        if (config_file.empty() && o.use_environment) config_file = env("COE_CONFIG");
        if (!config_file.empty()) cfg = detail::read_config_file(config_file);

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
const std::string &Engine::backend_for(std::string_view operation) const {
    return impl_->registry_.serving_name(operation, 1);
}

SparseRows Engine::featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &opt) const {
    if (texts.size() > UINT32_MAX) throw Error("featurize: too many texts");
    if (opt.bucket_bits < COE_FEATURIZE_MIN_BUCKET_BITS || opt.bucket_bits > COE_FEATURIZE_MAX_BUCKET_BITS)
        throw Error("featurize: bucket_bits " + std::to_string(opt.bucket_bits) + " is outside 4..24");
    std::vector<const char *> ptrs(texts.size());
    std::vector<std::uint64_t> lengths(texts.size());
    std::uint64_t capacity = texts.size();
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ptrs[i] = texts[i].data();
        lengths[i] = texts[i].size();
        capacity += texts[i].size();
    }
    // sum(lengths) + count entries always suffice (see coe.featurize/1)
    SparseRows rows;
    rows.dimension = 1u << opt.bucket_bits;
    rows.row_offsets.assign(texts.size() + 1, 0);
    rows.indices.resize(capacity);
    rows.values.resize(capacity);

    coe_featurize_args a{};
    a.struct_size = sizeof a;
    a.text_count = static_cast<std::uint32_t>(texts.size());
    a.texts = ptrs.data();
    a.text_lengths = lengths.data();
    a.bucket_bits = opt.bucket_bits;
    a.flags = (opt.bigrams ? COE_FEATURIZE_BIGRAMS : 0u) | (opt.stop_words ? COE_FEATURIZE_STOP_WORDS : 0u) |
              (opt.sublinear_tf ? COE_FEATURIZE_SUBLINEAR_TF : 0u) | (opt.idf ? COE_FEATURIZE_IDF : 0u) |
              (opt.l2_normalize ? COE_FEATURIZE_L2_NORMALIZE : 0u);
    a.entry_capacity = capacity;
    a.row_offsets = rows.row_offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    impl_->registry_.serving(COE_OP_FEATURIZE, 1).invoke(COE_OP_FEATURIZE, 1, &a);
    rows.indices.resize(a.entry_count);
    rows.values.resize(a.entry_count);
    return rows;
}

namespace {
Matrix run_similarity(const detail::Backend &backend, coe_similarity_args &a) {
    Matrix m;
    m.rows = m.cols = a.count;
    m.data.assign(static_cast<std::size_t>(a.count) * a.count, 0.f);
    a.struct_size = sizeof a;
    a.out = m.data.data();
    a.out_stride = a.count;
    backend.invoke(COE_OP_SIMILARITY, 1, &a);
    return m;
}
}  // namespace

Matrix Engine::similarity(const SparseRows &rows) const {
    if (rows.rows() > UINT32_MAX) throw Error("similarity: too many rows");
    coe_similarity_args a{};
    a.kind = COE_VECTORS_SPARSE;
    a.count = static_cast<std::uint32_t>(rows.rows());
    a.row_offsets = rows.row_offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    a.index_bound = rows.dimension;
    return run_similarity(impl_->registry_.serving(COE_OP_SIMILARITY, 1), a);
}

Matrix Engine::similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const {
    coe_similarity_args a{};
    a.kind = COE_VECTORS_DENSE;
    a.count = count;
    a.dense = vectors;
    a.dimension = dimension;
    a.dense_stride = dimension;
    return run_similarity(impl_->registry_.serving(COE_OP_SIMILARITY, 1), a);
}

}  // namespace coe
