// consensus_pipeline.hpp - one panel in, one report out: featurise,
// similarity, clustering, consensus metrics, aggregation of
// recommendations and limitations; every stage a backend operation.
#pragma once

#include "analysis/backend_ops.hpp"
#include "analysis/reuse.hpp"
#include "features/word_vector_tables.hpp"
#include "coe/analysis.hpp"
#include "coe/panel.hpp"
#include "coe/report.hpp"

namespace coe::detail {

// What the engine offers for comparing answers: its default kind (its
// config file's "features") and its word vectors (null: none).
struct FeatureSources {
    FeatureKind default_kind = FeatureKind::automatic;
    const WordVectorTables *word_vectors = nullptr;
};

// Validates the panel and runs the pipeline into `report`, every field of
// which is rewritten: with Fill::reused its storage is reused, and as the
// intermediate results live in buffers kept per thread, a steady state
// allocates nothing; Fill::fresh sizes a new report to fit (reuse.hpp).
// Reads the panel's texts only during the call.  Throws coe::Error on
// invalid input, leaving `report` valid but unspecified.  The report's
// served_by, degraded and events come from `trace`; its backend is the
// caller's.
// `sources` say what the features may be (FeatureKind); a kind that the
// call asks for and cannot have (word vectors without their file, embeddings
// missing) throws coe::Error naming why.
void analyze_panel(const BackendOps &ops, const PanelView &panel, const AnalysisOptions &options,
                   const FeatureSources &sources, CallTrace &trace, Report &report, Fill fill);

// The level for a clustering, as documented with ConsensusLevel.
ConsensusLevel classify_consensus(std::uint32_t experts, std::uint32_t clusters, std::uint32_t largest_cluster,
                                  std::uint32_t majority_members, double majority_share, double strong_share);

}  // namespace coe::detail
