#include "coe/analysis.hpp"

namespace coe {

const char *to_string(FeatureKind kind) {
    switch (kind) {
    case FeatureKind::automatic: return "auto";
    case FeatureKind::tfidf: return "tfidf";
    case FeatureKind::word_vectors: return "word_vectors";
    case FeatureKind::embedding: return "embedding";
    }
    return "unknown";
}

std::optional<FeatureKind> feature_kind_from_string(std::string_view name) {
    for (FeatureKind k :
         {FeatureKind::automatic, FeatureKind::tfidf, FeatureKind::word_vectors, FeatureKind::embedding})
        if (name == to_string(k)) return k;
    return std::nullopt;
}

}  // namespace coe
