#include "backend_ops.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>

#include "coe/coe_plugin.h"
#include "coe/error.hpp"
#include "prefaulted_memory.hpp"
#include "resilience/backend_chain.hpp"
#include "resilience/similarity_spot_check.hpp"

namespace coe::detail {
namespace {

// A 64-bit count of elements to hold in memory, as std::size_t: exact on a
// 64-bit target; on a 32-bit one (WebAssembly) a count above SIZE_MAX is
// refused with `what` named, never cut short.
std::size_t memory_count(std::uint64_t n, const char *what) {
    if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
        if (n > std::numeric_limits<std::size_t>::max())
            throw Error(std::string(what) + " exceed this target's memory");
    }
    return static_cast<std::size_t>(n);
}

// Before each call the outputs are filled with values their result check
// refuses.  The ABI specifies every output value, so one that a backend did
// not write fails the check, as NaN from the backend would, instead of
// passing for a result the way zeros would (a similarity of 0, a text
// without a known word, label 0).  Filling with these costs what zeroing
// did.  docs/resilience.md#fault-injection
constexpr float unwritten_number = std::numeric_limits<float>::quiet_NaN();
constexpr std::uint32_t unwritten_index = UINT32_MAX;   // past any end; as a count of known words, too many
constexpr std::uint8_t unwritten_flag = 0xFF;           // a flag is 0 or 1
constexpr std::uint64_t unwritten_offset = UINT64_MAX;  // past any end

// coe.featurize's entries go into scratch kept per thread: a fresh buffer
// of the capacity (an entry per byte of text) per call would cost its
// zeroing and page faults, and filling the whole capacity before each call
// a share of the call.  So the scratch stays filled with unwritten values
// between calls instead: a call's entries are put back as they are copied
// out, and after a call that did not return, the whole capacity it was
// handed is filled again before the next.  A backend that writes past the
// entries it counts leaves values a later call could take for its own;
// that takes a second fault to matter.
struct FeaturizeScratch {
    std::vector<std::uint32_t> indices;
    std::vector<float> values;
    std::size_t dirty = 0;  // entries [0, dirty) may hold what a call that did not return wrote

    // At least `capacity` entries, every one unwritten.
    void make_ready(std::size_t capacity) {
        unwrite(dirty);
        if (indices.size() < capacity) {
            indices.resize(capacity, unwritten_index);
            values.resize(capacity, unwritten_number);
        }
    }
    // Moves the first `count` entries into `rows`, leaving them unwritten here.
    void take(std::size_t count, SparseRows &rows) {
        rows.indices.assign(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(count));
        rows.values.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(count));
        unwrite(count);
    }

private:
    // The first `count` entries made unwritten again; none left dirty.
    void unwrite(std::size_t count) {
        std::fill_n(indices.begin(), count, unwritten_index);
        std::fill_n(values.begin(), count, unwritten_number);
        dirty = 0;
    }
};

// Calls the operation, with the injected fault (if any) applied around it.
void invoke(const Backend &backend, const char *op, void *args, const FaultDecision &fault,
            std::uint32_t revision = 1) {
    switch (fault.kind) {
    case fault::Kind::error:
        throw BackendCallError(
            "backend '" + backend.name() + "' failed " + op + "/" + std::to_string(revision) + ": injected error",
            COE_ERR_INTERNAL);
    case fault::Kind::slow:
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(fault.delay_ms));
        break;
    default: break;
    }
    if (fault.kind == fault::Kind::unwritten) {
        const fault::Untouched untouched(op, args);
        backend.invoke(op, revision, args);
        untouched.put_back();
        return;
    }
    backend.invoke(op, revision, args);
    if (fault.kind == fault::Kind::nan) fault::poison(op, args);
    if (fault.kind == fault::Kind::subtle) fault::nudge(op, args);
}

std::uint32_t featurize_flags(const FeaturizeOptions &o) {
    return (o.bigrams ? COE_FEATURIZE_BIGRAMS : 0u) | (o.stop_words ? COE_FEATURIZE_STOP_WORDS : 0u) |
           (o.sublinear_tf ? COE_FEATURIZE_SUBLINEAR_TF : 0u) | (o.idf ? COE_FEATURIZE_IDF : 0u) |
           (o.l2_normalize ? COE_FEATURIZE_L2_NORMALIZE : 0u) | (o.stem ? COE_FEATURIZE_STEM : 0u);
}

void add_bytes(CallTrace *trace, std::uint64_t bytes) {
    if (trace) trace->buffer_bytes += bytes;
}

}  // namespace

std::uint32_t BackendOps::revision(const char *op) const {
    if (chain_ != nullptr) return chain_->revision(op);
    if (revision_ != 0 && direct_->find(op, revision_) != nullptr) return revision_;
    return direct_->revision_of(op);
}

template <class R, class Attempt, class Check, class Spot>
void BackendOps::run(const char *op, Attempt &&attempt, Check &&check, R &out, CallTrace *trace, bool routed,
                     const Spot &spot) const {
    if (chain_ != nullptr)
        return chain_->run(op, std::forward<Attempt>(attempt), std::forward<Check>(check), out, trace, routed, spot);
    attempt(*direct_, FaultDecision{}, out);
    if (std::string why = check(out); !why.empty())
        throw Error("backend '" + direct_->name() + "' returned an invalid " + op + ": " + why);
    if (trace) trace->serve(op, direct_->name());
}

void BackendOps::run_similarity(const coe_similarity_args &prototype, Matrix &out, CallTrace *trace,
                                bool routed) const {
    const std::uint32_t n = prototype.count;
    add_bytes(trace, sizeof(float) * static_cast<std::uint64_t>(n) * n);
    const std::uint32_t revision = this->revision(COE_OP_SIMILARITY);
    // the direct form has no shadow checks; the chain's spot-checks a large call
    const SimilaritySpotCheck spot(prototype, revision,
                                   chain_ != nullptr ? chain_->options().shadow_spot_multiply_adds : 0,
                                   chain_ != nullptr ? chain_->options().shadow_spot_vectors : 2);
    run(
        COE_OP_SIMILARITY,
        [&](const Backend &b, const FaultDecision &f, Matrix &m) {
            m.rows = m.cols = n;
            const std::size_t cells = static_cast<std::size_t>(n) * n;
            if (m.data.capacity() < cells) {  // a new block: its pages in one call, not a fault each
                m.data.reserve(cells);
                kernels::prefault_pages(m.data.data(), m.data.capacity() * sizeof(float));
            }
            m.data.assign(cells, unwritten_number);
            coe_similarity_args a = prototype;
            a.struct_size = sizeof a;
            a.out = m.data.data();
            a.out_stride = n;
            invoke(b, COE_OP_SIMILARITY, &a, f, revision);
        },
        [](const Matrix &m) { return check_output(m); }, out, trace, routed, spot);
}

void BackendOps::featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &opt, SparseRows &out,
                           CallTrace *trace) const {
    if (texts.size() > UINT32_MAX) throw Error("featurize: too many texts");
    if (opt.bucket_bits < COE_FEATURIZE_MIN_BUCKET_BITS || opt.bucket_bits > COE_FEATURIZE_MAX_BUCKET_BITS)
        throw Error("featurize: bucket_bits " + std::to_string(opt.bucket_bits) + " is outside 4..24");
    thread_local std::vector<const char *> ptrs;
    thread_local std::vector<std::uint64_t> lengths;
    ptrs.resize(texts.size());
    lengths.resize(texts.size());
    std::uint64_t capacity = texts.size();
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ptrs[i] = texts[i].data();
        lengths[i] = texts[i].size();
        capacity += texts[i].size();
    }
    add_bytes(trace, capacity * (sizeof(std::uint32_t) + sizeof(float)));  // the buffers the plugin may fill
    const std::uint32_t revision = this->revision(COE_OP_FEATURIZE);
    run(
        COE_OP_FEATURIZE,
        [&](const Backend &b, const FaultDecision &f, SparseRows &rows) {
            // sum(lengths) + count entries always suffice (see coe.featurize/1);
            // the result holds only the entries written
            thread_local FeaturizeScratch scratch;
            scratch.make_ready(memory_count(capacity, "featurize: the texts"));
            rows.dimension = 1u << opt.bucket_bits;
            rows.row_offsets.assign(texts.size() + 1, unwritten_offset);
            coe_featurize_args a{};
            a.struct_size = sizeof a;
            a.text_count = static_cast<std::uint32_t>(texts.size());
            a.texts = ptrs.data();
            a.text_lengths = lengths.data();
            a.bucket_bits = opt.bucket_bits;
            a.flags = featurize_flags(opt);
            a.entry_capacity = capacity;
            a.row_offsets = rows.row_offsets.data();
            a.indices = scratch.indices.data();
            a.values = scratch.values.data();
            scratch.dirty = static_cast<std::size_t>(capacity);  // until the entries are taken
            invoke(b, COE_OP_FEATURIZE, &a, f, revision);
            scratch.take(static_cast<std::size_t>(std::min<std::uint64_t>(a.entry_count, capacity)), rows);
        },
        [&](const SparseRows &r) { return check_output(r, texts.size()); }, out, trace);
}

void BackendOps::embed_words(const std::vector<std::string_view> &texts, const coe_word_table &table,
                             WordEmbeddings &out, CallTrace *trace) const {
    if (texts.size() > UINT32_MAX) throw Error("embed_words: too many texts");
    if (table.struct_size < sizeof(coe_word_table))
        throw Error("embed_words: the table's struct_size " + std::to_string(table.struct_size) +
                    " is smaller than the " + std::to_string(sizeof(coe_word_table)) + " bytes of coe_word_table");
    const std::uint32_t dims = table.dims;
    if (dims < 1 || dims > 4096)
        throw Error("embed_words: the table's dims " + std::to_string(dims) + " is outside 1..4096");
    thread_local std::vector<const char *> ptrs;
    thread_local std::vector<std::uint64_t> lengths;
    ptrs.resize(texts.size());
    lengths.resize(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ptrs[i] = texts[i].data();
        lengths[i] = texts[i].size();
    }
    const std::uint64_t count = texts.size();
    add_bytes(trace, count * (sizeof(float) * dims + sizeof(std::uint32_t)));
    run(
        COE_OP_EMBED_WORDS,
        [&](const Backend &b, const FaultDecision &f, WordEmbeddings &e) {
            e.dims = dims;
            e.vectors.assign(memory_count(count * dims, "embed_words: the vectors"), unwritten_number);
            e.known_words.assign(texts.size(), unwritten_index);
            coe_embed_words_args a{};
            a.struct_size = sizeof a;
            a.text_count = static_cast<std::uint32_t>(count);
            a.texts = ptrs.data();
            a.text_lengths = lengths.data();
            a.table = &table;
            a.vector_stride = dims;
            a.vectors = e.vectors.data();
            a.known_words = e.known_words.data();
            invoke(b, COE_OP_EMBED_WORDS, &a, f);
        },
        [&](const WordEmbeddings &e) { return check_output(e, texts, dims); }, out, trace);
}

void BackendOps::similarity(const SparseRows &rows, Matrix &out, CallTrace *trace) const {
    if (rows.rows() > UINT32_MAX) throw Error("similarity: too many rows");
    // plugins trust the offsets to match the arrays; indices and values
    // they check themselves
    bool shape_ok = !rows.row_offsets.empty() && rows.row_offsets.front() == 0 &&
                    rows.row_offsets.back() == rows.indices.size() && rows.indices.size() == rows.values.size();
    for (std::size_t i = 1; shape_ok && i < rows.row_offsets.size(); ++i)
        shape_ok = rows.row_offsets[i] >= rows.row_offsets[i - 1];
    if (!shape_ok) throw Error("similarity: sparse rows are malformed: offsets do not match the index/value arrays");
    coe_similarity_args a{};
    a.kind = COE_VECTORS_SPARSE;
    a.count = static_cast<std::uint32_t>(rows.rows());
    a.row_offsets = rows.row_offsets.data();
    a.indices = rows.indices.data();
    a.values = rows.values.data();
    a.index_bound = rows.dimension;
    run_similarity(a, out, trace);
}

void BackendOps::similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension, Matrix &out,
                            CallTrace *trace) const {
    if (count > 0 && (vectors == nullptr || dimension == 0))
        throw Error("similarity: dense vectors need data and a dimension >= 1");
    coe_similarity_args a{};
    a.kind = COE_VECTORS_DENSE;
    a.count = count;
    a.dense = vectors;
    a.dimension = dimension;
    a.dense_stride = dimension;
    // a large call goes to the device first (loading it, the first time)
    const bool routed = chain_ != nullptr && router_ != nullptr && count > 0 && router_->route_dense(count, dimension);
    run_similarity(a, out, trace, routed);
}

void BackendOps::cluster(const Matrix &similarity, float threshold, Clustering &out, CallTrace *trace) const {
    add_bytes(trace, sizeof(std::uint32_t) * similarity.rows);
    run(
        COE_OP_CLUSTER,
        [&](const Backend &b, const FaultDecision &f, Clustering &c) {
            c.labels.assign(similarity.rows, unwritten_index);
            coe_cluster_args a{};
            a.struct_size = sizeof a;
            a.count = similarity.rows;
            a.similarity = similarity.data.data();
            a.similarity_stride = similarity.cols;
            a.method = COE_CLUSTER_AVERAGE_LINKAGE;
            a.threshold = threshold;
            a.labels = c.labels.data();
            invoke(b, COE_OP_CLUSTER, &a, f);
            c.cluster_count = a.cluster_count;
        },
        [&](const Clustering &c) { return check_output(c, similarity.rows); }, out, trace);
}

void BackendOps::consensus(const Matrix &similarity, const std::vector<float> &weights, const Clustering &clusters,
                           float outlier_z, float prior_weight, ConsensusOutputs &out, CallTrace *trace) const {
    const std::uint32_t n = similarity.rows, k = clusters.cluster_count;
    add_bytes(trace, (sizeof(float) * 2 + 1) * n + (sizeof(float) * 2 + sizeof(std::uint32_t)) * k);
    const std::uint32_t revision = this->revision(COE_OP_CONSENSUS);
    run(
        COE_OP_CONSENSUS,
        [&](const Backend &b, const FaultDecision &f, ConsensusOutputs &o) {
            o.centrality.assign(n, unwritten_number);
            o.robust_z.assign(n, unwritten_number);
            o.outlier.assign(n, unwritten_flag);
            o.cluster_share.assign(k, unwritten_number);
            o.cluster_cohesion.assign(k, unwritten_number);
            o.cluster_representative.assign(k, unwritten_index);
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
            a.mean_agreement = a.entropy = a.margin = a.confidence = unwritten_number;
            a.majority_cluster = a.medoid = unwritten_index;
            a.centrality = o.centrality.data();
            a.robust_z = o.robust_z.data();
            a.outlier = o.outlier.data();
            a.cluster_share = o.cluster_share.data();
            a.cluster_cohesion = o.cluster_cohesion.data();
            a.cluster_representative = o.cluster_representative.data();
            invoke(b, COE_OP_CONSENSUS, &a, f, revision);
            o.mean_agreement = a.mean_agreement;
            o.entropy = a.entropy;
            o.margin = a.margin;
            o.confidence = a.confidence;
            o.majority_cluster = a.majority_cluster;
            o.medoid = a.medoid;
        },
        [&](const ConsensusOutputs &o) { return check_output(o, n, k); }, out, trace);
}

void BackendOps::aggregate(const Matrix &item_similarity, const Clustering &groups,
                           const std::vector<std::uint32_t> &item_expert, const std::vector<float> &expert_weights,
                           std::uint32_t quorum, float prior_weight, AggregateOutputs &out, CallTrace *trace) const {
    const std::uint32_t g = groups.cluster_count;
    add_bytes(trace, (sizeof(std::uint32_t) * 3 + sizeof(float) * 2 + 1) * static_cast<std::uint64_t>(g));
    const std::uint32_t revision = this->revision(COE_OP_AGGREGATE);
    run(
        COE_OP_AGGREGATE,
        [&](const Backend &b, const FaultDecision &f, AggregateOutputs &o) {
            o.supporters.assign(g, 0);  // a group has at least one supporter
            o.representative.assign(g, unwritten_index);
            o.ranking.assign(g, unwritten_index);
            o.support.assign(g, unwritten_number);
            o.confidence.assign(g, unwritten_number);
            o.consensus.assign(g, unwritten_flag);
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
            invoke(b, COE_OP_AGGREGATE, &a, f, revision);
        },
        [&](const AggregateOutputs &o) { return check_output(o, groups, item_expert, quorum); }, out, trace);
}

}  // namespace coe::detail
