// aggregate_kernel.hpp - coe.aggregate/1 and /2: support, confidence,
// representative and ranking of groups of near-duplicate items.  Formulas
// are documented with coe_aggregate_args in coe/ops/aggregate.h.  Double
// precision, sums that do not depend on the order of the items (sorted in
// /1, exact in /2), the same code in every backend.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <cstdint>
#include <numeric>
#include <vector>

#include "canonical_sum.hpp"
#include "cluster_kernel.hpp"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "consensus_kernel.hpp"
#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

template <int Revision = 1>
coe_status aggregate(coe_aggregate_args &a) {
    static_assert(Revision == 1 || Revision == 2, "coe.aggregate has revisions 1 and 2");
    auto sum = [](std::vector<double> &terms) { return panel_sum<Revision, 2>(terms); };
    using sdk::status_error;
    const std::uint32_t m = a.item_count, g = a.group_count;
    if (!(a.prior_weight >= 0.f) || !std::isfinite(a.prior_weight))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "prior_weight must be finite and >= 0");
    validate_similarity_matrix(a.similarity, a.similarity_stride, m, "similarity");
    validate_weights(a.expert_weights, a.expert_count, "expert_weights");
    validate_labels(a.item_group, m, g);
    if (m > 0 && a.item_expert == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "item_expert is null");
    for (std::uint32_t i = 0; i < m; ++i)
        if (a.item_expert[i] >= a.expert_count)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "item " + std::to_string(i) + " names expert " +
                                                             std::to_string(a.item_expert[i]) + " >= expert_count");
    if (g > 0 && (!a.supporters || !a.support || !a.confidence || !a.representative || !a.consensus || !a.ranking))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "an output buffer is null");

    // working vectors: per thread, capacity kept (see cluster_kernel.hpp)
    struct Scratch {
        std::vector<double> terms, weights, support;
        std::vector<std::uint8_t> counted;
        ItemGroups members_of;
    };
    thread_local Scratch tls;
    Scratch &s = thread_scratch(tls);
    std::vector<double> &terms = s.terms, &weights = s.weights, &support = s.support;
    std::vector<std::uint8_t> &counted = s.counted;
    ItemGroups &members_of = s.members_of;
    terms.assign(a.expert_weights, a.expert_weights + a.expert_count);
    const double total_w = sum(terms);

    // each group's items in increasing order (the sums do not depend
    // on the order of their terms; the representative is the first best)
    group_items(a.item_group, m, g, members_of);
    support.assign(g, 0.0);
    counted.resize(a.expert_count);
    for (std::uint32_t c = 0; c < g; ++c) {
        const std::uint32_t *items = members_of.first(c);
        const std::uint32_t size = members_of.size(c);
        std::fill(counted.begin(), counted.end(), 0);
        double best = -2.0;
        weights.clear();
        std::uint32_t people = 0, rep = m;
        for (std::uint32_t x = 0; x < size; ++x) {
            const std::uint32_t i = items[x];
            const std::uint32_t e = a.item_expert[i];
            if (!counted[e]) {
                counted[e] = 1;
                ++people;
                weights.push_back(a.expert_weights[e]);
            }
            terms.clear();
            for (std::uint32_t y = 0; y < size; ++y)
                if (items[y] != i) terms.push_back(a.similarity[i * a.similarity_stride + items[y]]);
            const double others = static_cast<double>(terms.size());
            const double mean = others > 0.0 ? sum(terms) / others : 1.0;
            if (rep == m || mean > best) {
                best = mean;
                rep = i;
            }
        }
        const double w = sum(weights);
        support[c] = total_w > 0.0 ? w / total_w : 0.0;
        a.supporters[c] = people;
        a.support[c] = static_cast<float>(support[c]);
        a.confidence[c] = static_cast<float>(w / (total_w + a.prior_weight));
        a.representative[c] = rep;
        a.consensus[c] = people >= a.quorum ? 1 : 0;
    }
    std::iota(a.ranking, a.ranking + g, 0u);
    std::sort(a.ranking, a.ranking + g, [&](std::uint32_t x, std::uint32_t y) {
        if (support[x] != support[y]) return support[x] > support[y];
        if (a.supporters[x] != a.supporters[y]) return a.supporters[x] > a.supporters[y];
        return members_of.first(x)[0] < members_of.first(y)[0];  // groups are never empty (validated)
    });
    return COE_OK;
}

COE_KERNELS_END
