#include "backend_ops.hpp"

#include <algorithm>

#include "coe/coe_plugin.h"
#include "coe/error.hpp"

namespace coe::detail {
namespace {

Matrix run_similarity(const Backend &backend, coe_similarity_args &a) {
    Matrix m;
    m.rows = m.cols = a.count;
    m.data.assign(static_cast<std::size_t>(a.count) * a.count, 0.f);
    a.struct_size = sizeof a;
    a.out = m.data.data();
    a.out_stride = a.count;
    backend.invoke(COE_OP_SIMILARITY, 1, &a);
    return m;
}

std::uint32_t featurize_flags(const FeaturizeOptions &o) {
    return (o.bigrams ? COE_FEATURIZE_BIGRAMS : 0u) | (o.stop_words ? COE_FEATURIZE_STOP_WORDS : 0u) |
           (o.sublinear_tf ? COE_FEATURIZE_SUBLINEAR_TF : 0u) | (o.idf ? COE_FEATURIZE_IDF : 0u) |
           (o.l2_normalize ? COE_FEATURIZE_L2_NORMALIZE : 0u) | (o.stem ? COE_FEATURIZE_STEM : 0u);
}

}  // namespace

SparseRows BackendOps::featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &opt) const {
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
    a.flags = featurize_flags(opt);
    a.entry_capacity = capacity;
    a.row_offsets = rows.row_offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    registry_.serving(COE_OP_FEATURIZE, 1).invoke(COE_OP_FEATURIZE, 1, &a);
    rows.indices.resize(a.entry_count);
    rows.values.resize(a.entry_count);
    return rows;
}

Matrix BackendOps::similarity(const SparseRows &rows) const {
    if (rows.rows() > UINT32_MAX) throw Error("similarity: too many rows");
    coe_similarity_args a{};
    a.kind = COE_VECTORS_SPARSE;
    a.count = static_cast<std::uint32_t>(rows.rows());
    a.row_offsets = rows.row_offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    a.index_bound = rows.dimension;
    return run_similarity(registry_.serving(COE_OP_SIMILARITY, 1), a);
}

Matrix BackendOps::similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const {
    coe_similarity_args a{};
    a.kind = COE_VECTORS_DENSE;
    a.count = count;
    a.dense = vectors;
    a.dimension = dimension;
    a.dense_stride = dimension;
    return run_similarity(registry_.serving(COE_OP_SIMILARITY, 1), a);
}

Clustering BackendOps::cluster(const Matrix &similarity, float threshold) const {
    Clustering c;
    c.labels.assign(similarity.rows, 0);
    coe_cluster_args a{};
    a.struct_size = sizeof a;
    a.count = similarity.rows;
    a.similarity = similarity.data.data();
    a.similarity_stride = similarity.cols;
    a.method = COE_CLUSTER_AVERAGE_LINKAGE;
    a.threshold = threshold;
    a.labels = c.labels.data();
    registry_.serving(COE_OP_CLUSTER, 1).invoke(COE_OP_CLUSTER, 1, &a);
    c.cluster_count = a.cluster_count;
    return c;
}

ConsensusOutputs BackendOps::consensus(const Matrix &similarity, const std::vector<float> &weights,
                                       const Clustering &clusters, float outlier_z, float prior_weight) const {
    const std::uint32_t n = similarity.rows, k = clusters.cluster_count;
    ConsensusOutputs o;
    o.centrality.resize(n);
    o.robust_z.resize(n);
    o.outlier.resize(n);
    o.cluster_share.resize(k);
    o.cluster_cohesion.resize(k);
    o.cluster_representative.resize(k);
    coe_consensus_args a{};
    a.struct_size = sizeof a;
    a.count = n;
    a.similarity = similarity.data.data();
    a.similarity_stride = similarity.cols;
    a.weights = weights.data();
    a.labels = clusters.labels.data();
    a.cluster_count = k;
    a.outlier_z = outlier_z;
    a.prior_weight = prior_weight;
    a.centrality = o.centrality.data();
    a.robust_z = o.robust_z.data();
    a.outlier = o.outlier.data();
    a.cluster_share = o.cluster_share.data();
    a.cluster_cohesion = o.cluster_cohesion.data();
    a.cluster_representative = o.cluster_representative.data();
    registry_.serving(COE_OP_CONSENSUS, 1).invoke(COE_OP_CONSENSUS, 1, &a);
    o.mean_agreement = a.mean_agreement;
    o.entropy = a.entropy;
    o.margin = a.margin;
    o.confidence = a.confidence;
    o.majority_cluster = a.majority_cluster;
    o.medoid = a.medoid;
    return o;
}

AggregateOutputs BackendOps::aggregate(const Matrix &item_similarity, const Clustering &groups,
                                       const std::vector<std::uint32_t> &item_expert,
                                       const std::vector<float> &expert_weights, std::uint32_t quorum,
                                       float prior_weight) const {
    const std::uint32_t g = groups.cluster_count;
    AggregateOutputs o;
    o.supporters.resize(g);
    o.representative.resize(g);
    o.ranking.resize(g);
    o.support.resize(g);
    o.confidence.resize(g);
    o.consensus.resize(g);
    coe_aggregate_args a{};
    a.struct_size = sizeof a;
    a.item_count = item_similarity.rows;
    a.expert_count = static_cast<std::uint32_t>(expert_weights.size());
    a.group_count = g;
    a.item_group = groups.labels.data();
    a.item_expert = item_expert.data();
    a.similarity = item_similarity.data.data();
    a.similarity_stride = item_similarity.cols;
    a.expert_weights = expert_weights.data();
    a.quorum = quorum;
    a.prior_weight = prior_weight;
    a.supporters = o.supporters.data();
    a.support = o.support.data();
    a.confidence = o.confidence.data();
    a.representative = o.representative.data();
    a.consensus = o.consensus.data();
    a.ranking = o.ranking.data();
    registry_.serving(COE_OP_AGGREGATE, 1).invoke(COE_OP_AGGREGATE, 1, &a);
    return o;
}

}  // namespace coe::detail
