// panel_equality.hpp - whether two parsed panels are the same, field by
// field and number by number bit for bit (0.0 and -0.0 differ): how the
// tests and the panel fuzzer hold the direct reader to the document reader.
#pragma once

#include <cstring>

#include "coe/panel.hpp"

namespace coe::test {

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline bool same_panel(const Panel &a, const Panel &b) {
    if (a.id != b.id || a.question != b.question || a.responses.size() != b.responses.size()) return false;
    for (std::size_t i = 0; i < a.responses.size(); ++i) {
        const Response &x = a.responses[i], &y = b.responses[i];
        if (x.expert != y.expert || x.content != y.content || x.recommendations != y.recommendations ||
            x.limitations != y.limitations || x.confidence.has_value() != y.confidence.has_value())
            return false;
        if (x.confidence && !same_bits(*x.confidence, *y.confidence)) return false;
        if (x.embedding.size() != y.embedding.size() ||
            (!x.embedding.empty() &&
             std::memcmp(x.embedding.data(), y.embedding.data(), x.embedding.size() * sizeof(float)) != 0))
            return false;
    }
    return true;
}

}  // namespace coe::test
