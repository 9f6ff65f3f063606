// report_format.hpp - a Report as JSON (for programs) or text (for people).
#pragma once

#include <string>

#include "coe/report.hpp"

namespace coe {

// One line of JSON, no trailing newline.  Numbers are rounded to 6 decimals.
// Fields: id, question, backend, served_by, degraded, features, consensus{score, level,
// majority_cluster, majority_share, margin, entropy, medoid}, confidence,
// quorum, clusters[]{id, members, representative, share, cohesion},
// experts[]{expert, centrality, robust_z, cluster, outlier, weight},
// dissent[]{cluster, members, representative, excerpt},
// recommendations[] and limitations[]{text, support, supporters, score,
// confidence, consensus, variants (only when several wordings merged);
// supporters and variants list at most 16 entries, and supporters_omitted /
// variants_omitted count the rest},
// events, timing_ms{featurize, similarity,
// cluster, consensus, aggregate, total}.
std::string to_json(const Report &report);

// A JSON line for a panel that could not be analysed:
// {"line": N, "error": "..."} (line omitted when 0).
std::string error_json(std::size_t line, const std::string &message);

// A readable multi-line summary, ending in a newline.
std::string to_text(const Report &report);

}  // namespace coe
