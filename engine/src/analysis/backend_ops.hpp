// backend_ops.hpp - typed C++ calls of every backend operation, each run
// through the backend chain (breakers, demotion, checks, shadow).  Holds only
// a reference to the chain; thread-safe as the chain is.  Every call may note
// what happened in a CallTrace (nullptr: nobody asks).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "coe/vectors.hpp"
#include "coe/coe_plugin.h"
#include "plugins/backend.hpp"

namespace coe::detail {
class BackendChain;
struct NoSpotCheck;
struct CallTrace;
}  // namespace coe::detail

namespace coe::detail {

struct ConsensusOutputs {
    std::vector<float> centrality, robust_z;
    std::vector<std::uint8_t> outlier;
    std::vector<float> cluster_share, cluster_cohesion;
    std::vector<std::uint32_t> cluster_representative;
    float mean_agreement = 0, entropy = 0, margin = 0, confidence = 0;
    std::uint32_t majority_cluster = 0, medoid = 0;
};

struct AggregateOutputs {
    std::vector<std::uint32_t> supporters, representative, ranking;
    std::vector<float> support, confidence;
    std::vector<std::uint8_t> consensus;
};

struct Clustering {
    std::vector<std::uint32_t> labels;
    std::uint32_t cluster_count = 0;
};

// Decides, per dense similarity call, whether it goes to a device backend
// first (resilience/device_router.hpp).  An interface, so that the
// WebAssembly build links the analysis without it.
class DenseCallRouter {
public:
    virtual ~DenseCallRouter() = default;
    // True: run this call with the device as the chain's first link.  May
    // load the device (once); thread-safe.
    virtual bool route_dense(std::uint32_t count, std::uint64_t dimension) = 0;
};

class BackendOps {
public:
    // Every call goes through the chain (breakers, demotion, shadow checks);
    // `router` (may be null: none) sends large dense similarity calls to a
    // device backend first.
    explicit BackendOps(BackendChain &chain, DenseCallRouter *router = nullptr) : chain_(&chain), router_(router) {}
    // Every call goes to `backend` alone; an error or an invalid result
    // throws coe::Error.  For conformance checks of one plugin.
    // `revision`: the revision to call an operation at when the backend
    // provides it at that revision (a conformance check of one revision);
    // 0, or an operation it lacks at that revision: the newest it provides.
    explicit BackendOps(const Backend &backend, std::uint32_t revision = 0) : direct_(&backend), revision_(revision) {}

    // The revision of `op` the calls use (see BackendChain::revision).
    std::uint32_t revision(const char *op) const;

    // Each operation writes its result into `out`, reusing out's storage (a
    // caller that keeps its results from call to call allocates nothing once
    // they are large enough); the forms returning a value start from empty.
    void featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &options, SparseRows &out,
                   CallTrace *trace = nullptr) const;
    // coe.embed_words/1 with vector_stride = table.dims.  Throws coe::Error
    // before any backend runs when the table's struct_size or dims cannot be
    // right (the result's size depends on dims).
    void embed_words(const std::vector<std::string_view> &texts, const coe_word_table &table, WordEmbeddings &out,
                     CallTrace *trace = nullptr) const;
    void similarity(const SparseRows &rows, Matrix &out, CallTrace *trace = nullptr) const;
    void similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension, Matrix &out,
                    CallTrace *trace = nullptr) const;
    void cluster(const Matrix &similarity, float threshold, Clustering &out, CallTrace *trace = nullptr) const;
    void consensus(const Matrix &similarity, const std::vector<float> &weights, const Clustering &clusters,
                   float outlier_z, float prior_weight, ConsensusOutputs &out, CallTrace *trace = nullptr) const;
    void aggregate(const Matrix &item_similarity, const Clustering &groups,
                   const std::vector<std::uint32_t> &item_expert, const std::vector<float> &expert_weights,
                   std::uint32_t quorum, float prior_weight, AggregateOutputs &out, CallTrace *trace = nullptr) const;

    SparseRows featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &options) const {
        SparseRows out;
        featurize(texts, options, out);
        return out;
    }
    WordEmbeddings embed_words(const std::vector<std::string_view> &texts, const coe_word_table &table) const {
        WordEmbeddings out;
        embed_words(texts, table, out);
        return out;
    }
    Matrix similarity(const SparseRows &rows) const {
        Matrix out;
        similarity(rows, out);
        return out;
    }
    Matrix similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const {
        Matrix out;
        similarity(vectors, count, dimension, out);
        return out;
    }
    Clustering cluster(const Matrix &similarity, float threshold) const {
        Clustering out;
        cluster(similarity, threshold, out);
        return out;
    }
    ConsensusOutputs consensus(const Matrix &similarity, const std::vector<float> &weights, const Clustering &clusters,
                               float outlier_z, float prior_weight) const {
        ConsensusOutputs out;
        consensus(similarity, weights, clusters, outlier_z, prior_weight, out);
        return out;
    }
    AggregateOutputs aggregate(const Matrix &item_similarity, const Clustering &groups,
                               const std::vector<std::uint32_t> &item_expert, const std::vector<float> &expert_weights,
                               std::uint32_t quorum, float prior_weight) const {
        AggregateOutputs out;
        aggregate(item_similarity, groups, item_expert, expert_weights, quorum, prior_weight, out);
        return out;
    }

private:
    template <class R, class Attempt, class Check, class Spot = NoSpotCheck>
    void run(const char *op, Attempt &&attempt, Check &&check, R &out, CallTrace *trace, bool routed = false,
             const Spot &spot = Spot{}) const;
    void run_similarity(const coe_similarity_args &prototype, Matrix &out, CallTrace *trace, bool routed = false) const;

    BackendChain *chain_ = nullptr;
    DenseCallRouter *router_ = nullptr;
    const Backend *direct_ = nullptr;
    std::uint32_t revision_ = 0;
};

}  // namespace coe::detail
