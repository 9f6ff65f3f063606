// analysis.hpp - options of the consensus pipeline.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "coe/vectors.hpp"

namespace coe {

// What the answers are compared by.
enum class FeatureKind {
    automatic,     // the responses' embeddings when every one carries one; else
                   // word vectors when the engine found its word-vector file;
                   // else TF-IDF (the report says which, and why)
    tfidf,         // hashed word n-grams: shared words, not shared meaning
    word_vectors,  // pretrained word vectors (docs/word-vectors.md); an error
                   // when the file is missing or invalid
    embedding,     // the responses' embeddings; an error when one has none
};
// "auto", "tfidf", "word_vectors", "embedding"
const char *to_string(FeatureKind kind);
// The kind named `name` (as to_string writes it), or nullopt.
std::optional<FeatureKind> feature_kind_from_string(std::string_view name);

// How a text's word vectors are combined, and how their similarities are
// read.  The defaults were chosen by measurement on the dev corpora
// (bench/feature_calibration, docs/analysis.md).
struct WordVectorOptions {
    // Each word's weight in its text's sum: 1 (uniform), or a / (a + p(w))
    // with p(w) the word's frequency estimated from its rank in the file
    // (frequency: common words count less).
    enum class Weighting { uniform, frequency } weighting = Weighting::frequency;
    float frequency_a = 1e-3f;
    bool drop_stop_words = false;  // true: weight 0 for the English stop words of featurize
    // Averaged word vectors share a large common part, which hides their
    // differences: remove the direction every ordinary text shares (the
    // frequency-weighted mean of the vocabulary), or the panel's own mean
    // (exact fixed-point sums, so the order of the answers does not matter).
    enum class Centring { none, common_direction, panel_mean } centring = Centring::none;
    // Share of the TF-IDF similarity blended into the matrix (0: none).
    float tfidf_blend = 0;
    // Similarity thresholds on this kind's scale (see AnalysisOptions).
    float cluster_threshold = 0.85f;
    float item_merge_threshold = 0.87f;
};

struct AnalysisOptions {
    FeaturizeOptions features;  // text -> vectors for TF-IDF
    // What compares the answers; empty: the engine's default
    // (EngineOptions::features).
    std::optional<FeatureKind> feature_kind;
    WordVectorOptions word_vectors;
    bool use_embeddings = true;  // automatic: use embeddings when every response carries one
    // Average-linkage threshold for grouping experts into agreeing clusters
    // (TF-IDF and embeddings; word vectors use word_vectors.cluster_threshold).
    // Chosen by measurement on the shipped corpora (docs/analysis.md).
    float cluster_threshold = 0.12f;
    // Threshold for merging near-duplicate recommendations (TF-IDF and
    // embeddings; word vectors use word_vectors.item_merge_threshold).
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
