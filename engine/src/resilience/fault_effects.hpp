// fault_effects.hpp - what an injected fault does to an operation's outputs.
// Header-only on the C ABI structs, so the engine's fault injector and the
// fault-injection test plugin corrupt results in exactly the same ways.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "coe/coe_plugin.h"

namespace coe::fault {

enum class Kind { none, error, nan, subtle, slow, unwritten };

// Each kind's name, in the order error messages list them.
struct KindName {
    Kind kind;
    const char *name;
};
inline constexpr KindName kind_names[] = {{Kind::error, "error"},
                                          {Kind::nan, "nan"},
                                          {Kind::subtle, "subtle"},
                                          {Kind::slow, "slow"},
                                          {Kind::unwritten, "unwritten"}};

inline Kind kind_from_name(const char *name) {
    for (const KindName &k : kind_names)
        if (std::strcmp(name, k.name) == 0) return k.kind;
    return Kind::none;
}

// Writes NaN into the operation's first floating-point output (or an
// impossible label for coe.cluster), after a successful call.
inline void poison(const char *op, void *args) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    if (std::strcmp(op, COE_OP_FEATURIZE) == 0) {
        auto *a = static_cast<coe_featurize_args *>(args);
        if (a->entry_count > 0) a->values[0] = nan;
    } else if (std::strcmp(op, COE_OP_SIMILARITY) == 0) {
        auto *a = static_cast<coe_similarity_args *>(args);
        if (a->count > 0) a->out[0] = nan;
    } else if (std::strcmp(op, COE_OP_CLUSTER) == 0) {
        auto *a = static_cast<coe_cluster_args *>(args);
        if (a->count > 0) a->labels[0] = a->count + 7;
    } else if (std::strcmp(op, COE_OP_CONSENSUS) == 0) {
        auto *a = static_cast<coe_consensus_args *>(args);
        a->centrality[0] = nan;
        a->confidence = nan;
    } else if (std::strcmp(op, COE_OP_AGGREGATE) == 0) {
        auto *a = static_cast<coe_aggregate_args *>(args);
        if (a->group_count > 0) a->support[0] = nan;
    } else if (std::strcmp(op, COE_OP_EMBED_WORDS) == 0) {
        auto *a = static_cast<coe_embed_words_args *>(args);
        if (a->text_count > 0) a->vectors[0] = nan;
    }
}

// Nudges outputs by a little more than the cross-backend tolerance while
// keeping them valid (finite, in range, symmetric): only a comparison with
// the scalar reference can tell.
inline void nudge(const char *op, void *args) {
    if (std::strcmp(op, COE_OP_FEATURIZE) == 0) {
        auto *a = static_cast<coe_featurize_args *>(args);
        for (std::uint64_t k = 0; k < a->entry_count; ++k) a->values[k] *= 1.001f;
    } else if (std::strcmp(op, COE_OP_SIMILARITY) == 0) {
        auto *a = static_cast<coe_similarity_args *>(args);
        for (std::uint32_t i = 0; i < a->count; ++i)
            for (std::uint32_t j = 0; j < a->count; ++j)
                if (i != j) {
                    float &v = a->out[i * a->out_stride + j];
                    v = v > 0.5f ? v - 0.001f : v + 0.001f;
                }
    } else if (std::strcmp(op, COE_OP_CLUSTER) == 0) {
        auto *a = static_cast<coe_cluster_args *>(args);
        // merge the last cluster into the first: still a valid labelling
        if (a->cluster_count > 1) {
            for (std::uint32_t i = 0; i < a->count; ++i)
                if (a->labels[i] == a->cluster_count - 1) a->labels[i] = 0;
            --a->cluster_count;
        }
    } else if (std::strcmp(op, COE_OP_CONSENSUS) == 0) {
        auto *a = static_cast<coe_consensus_args *>(args);
        for (std::uint32_t i = 0; i < a->count; ++i) a->centrality[i] *= 0.999f;
        a->mean_agreement *= 0.999f;
    } else if (std::strcmp(op, COE_OP_AGGREGATE) == 0) {
        auto *a = static_cast<coe_aggregate_args *>(args);
        for (std::uint32_t g = 0; g < a->group_count; ++g) a->support[g] *= 0.999f;
    } else if (std::strcmp(op, COE_OP_EMBED_WORDS) == 0) {
        // every lane negated: rows keep their length (zeros become -0)
        auto *a = static_cast<coe_embed_words_args *>(args);
        for (std::uint32_t i = 0; i < a->text_count; ++i)
            for (std::uint32_t d = 0; d < a->table->dims; ++d) {
                float &v = a->vectors[i * a->vector_stride + d];
                v = -v;
            }
    }
}

// An "unwritten" fault: the call succeeds but leaves part of its output as
// the caller handed it over, as a backend with a bug in its loop bounds
// would.  Constructed before the call, it copies that part; put_back()
// restores it after the call: the two cosines (0, 1) and (1, 0) of coe.similarity (the
// diagonal cell when there is one vector), the first row of
// coe.embed_words, the last label of coe.cluster (the first is 0 by rule),
// the first centrality of coe.consensus, the first support of
// coe.aggregate, the first entry (index and value) of coe.featurize.
class Untouched {
public:
    Untouched(const char *op, void *args) {
        if (std::strcmp(op, COE_OP_FEATURIZE) == 0) {
            auto *a = static_cast<coe_featurize_args *>(args);
            if (a->entry_capacity > 0) {
                keep(a->indices, sizeof(std::uint32_t));
                keep(a->values, sizeof(float));
            }
        } else if (std::strcmp(op, COE_OP_SIMILARITY) == 0) {
            auto *a = static_cast<coe_similarity_args *>(args);
            if (a->count >= 2) {
                keep(a->out + 1, sizeof(float));
                keep(a->out + a->out_stride, sizeof(float));
            } else if (a->count == 1) {
                keep(a->out, sizeof(float));
            }
        } else if (std::strcmp(op, COE_OP_EMBED_WORDS) == 0) {
            auto *a = static_cast<coe_embed_words_args *>(args);
            if (a->text_count > 0) keep(a->vectors, sizeof(float) * a->table->dims);
        } else if (std::strcmp(op, COE_OP_CLUSTER) == 0) {
            auto *a = static_cast<coe_cluster_args *>(args);
            if (a->count > 0) keep(a->labels + (a->count - 1), sizeof(std::uint32_t));
        } else if (std::strcmp(op, COE_OP_CONSENSUS) == 0) {
            auto *a = static_cast<coe_consensus_args *>(args);
            if (a->count > 0) keep(a->centrality, sizeof(float));
        } else if (std::strcmp(op, COE_OP_AGGREGATE) == 0) {
            auto *a = static_cast<coe_aggregate_args *>(args);
            if (a->group_count > 0) keep(a->support, sizeof(float));
        }
    }

    void put_back() const {
        for (const Span &s : spans_) std::memcpy(s.at, s.bytes.data(), s.bytes.size());
    }

private:
    struct Span {
        void *at;
        std::vector<unsigned char> bytes;
    };
    void keep(void *at, std::size_t size) {
        const auto *p = static_cast<const unsigned char *>(at);
        spans_.push_back(Span{at, std::vector<unsigned char>(p, p + size)});
    }
    std::vector<Span> spans_;
};

}  // namespace coe::fault
