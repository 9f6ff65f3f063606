// report.hpp - what the engine concludes about one panel.  Plain values;
// copies are independent.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace coe {

// Consensus levels, from the majority cluster's weighted share s and the
// cluster structure (thresholds in AnalysisOptions):
//   unanimous  one cluster holds every expert (and there are >= 2)
//   strong     s >= strong_share (default 0.75), majority cluster of >= 2
//   majority   s >  0.5, majority cluster of >= 2
//   split      otherwise, while some cluster has >= 2 experts (also when
//              a lone expert carries the largest weight)
//   none       every expert stands alone (or the panel has one expert)
enum class ConsensusLevel { unanimous, strong, majority, split, none };
const char *to_string(ConsensusLevel level);

struct ExpertResult {
    std::string expert;
    std::uint32_t index = 0;  // position in the panel
    double weight = 1.0;      // stated confidence (default 1), floored at min_weight
    double centrality = 0.0;  // weighted mean similarity to the others
    double robust_z = 0.0;    // modified z-score of centrality
    std::uint32_t cluster = 0;
    bool outlier = false;  // robust_z < -outlier_z
};

struct ClusterResult {
    std::vector<std::string> members;  // expert names, in panel order
    std::vector<std::uint32_t> member_indices;
    std::string representative;  // expert name
    std::uint32_t representative_index = 0;
    double share = 0.0;     // weighted share of experts
    double cohesion = 0.0;  // mean pairwise similarity inside
};

struct DissentResult {
    std::uint32_t cluster = 0;
    std::vector<std::string> members;
    std::string representative;
    std::string excerpt;  // start of the representative's response
};

struct ItemResult {                       // a merged recommendation or limitation
    std::string text;                     // the representative wording
    std::uint32_t support = 0;            // distinct experts who stated it
    std::vector<std::string> supporters;  // their names, in panel order
    double score = 0.0;                   // their weighted share of the panel
    double confidence = 0.0;              // their weight / (total weight + prior)
    bool consensus = false;               // support >= quorum
    std::vector<std::string> variants;    // every wording merged into it
};

struct ConsensusResult {
    double score = 0.0;  // mean pairwise agreement
    ConsensusLevel level = ConsensusLevel::none;
    std::uint32_t majority_cluster = 0;
    double majority_share = 0.0;
    double margin = 0.0;   // over the runner-up cluster
    double entropy = 0.0;  // normalised cluster entropy, 0..1
    std::string medoid;    // the most central expert
    std::uint32_t medoid_index = 0;
};

struct StageTimings {  // milliseconds
    double featurize = 0, similarity = 0, cluster = 0, consensus = 0, aggregate = 0, total = 0;
};

struct Report {
    std::string panel_id;
    std::string question;
    std::string backend;                           // the active backend
    std::map<std::string, std::string> served_by;  // operation -> backend whose result was used
    bool degraded = false;                         // some result came from below the first choice
    std::vector<std::string> events;               // failures, open breakers, shadow mismatches met
    std::string features;                          // "tfidf", "word_vectors" or "embedding"
    std::string features_note;                     // why automatic chose TF-IDF; empty otherwise
    ConsensusResult consensus;
    std::vector<ClusterResult> clusters;
    std::vector<ExpertResult> experts;        // in panel order
    std::vector<DissentResult> dissent;       // one per minority cluster
    std::vector<ItemResult> recommendations;  // ranked
    std::vector<ItemResult> limitations;      // ranked
    std::uint32_t quorum = 0;
    double confidence = 0.0;  // aggregated, in [0, 1]
    StageTimings timing;
};

}  // namespace coe
