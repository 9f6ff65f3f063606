// analysis.hpp - options of the consensus pipeline.
#pragma once

#include <cstdint>

#include "coe/vectors.hpp"

namespace coe {

struct AnalysisOptions {
    FeaturizeOptions features;   // text -> vectors (ignored with embeddings)
    bool use_embeddings = true;  // when every response carries one
    // Average-linkage threshold for grouping experts into agreeing clusters.
    // Chosen by measurement on the shipped corpora (docs/analysis.md).
    float cluster_threshold = 0.12f;
    // Threshold for merging near-duplicate recommendations.
    float item_merge_threshold = 0.25f;
    float outlier_z = 3.5f;           // robust z below -outlier_z: outlier
    float prior_weight = 1.0f;        // shrinks the confidence of small panels
    double min_weight = 0.05;         // floor for an expert's stated confidence
    double strong_share = 0.75;       // majority share for "strong"
    std::uint32_t quorum = 0;         // 0: a majority of responding experts
    std::size_t excerpt_bytes = 240;  // length of dissent excerpts
    // Recommendations (and, separately, limitations) aggregated per panel:
    // merging is cubic in the item count, so beyond this the first items in
    // panel order are kept and the report's events say so.
    std::size_t max_items = 2000;
    // Limits of one panel: a larger one is refused with a named error before
    // any work (similarity is quadratic in the experts, so 20,000 experts
    // would need gigabytes).
    std::size_t max_experts = 1024;
    std::size_t max_text_bytes = 1u << 20;  // per response content, recommendation or limitation
    std::size_t max_name_bytes = 1024;      // per expert name
};

}  // namespace coe
