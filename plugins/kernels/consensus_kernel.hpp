// consensus_kernel.hpp - coe.consensus/1, /2 and /3: centrality, clusters'
// shares, entropy, margin, medoid, representatives, robust outliers,
// confidence.  Formulas are documented with coe_consensus_args in
// coe/ops/consensus.h.  Double precision, sums that do not depend on the
// order of the experts (sorted in /1 and /2, exact in /3), the same code in
// every backend.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "canonical_sum.hpp"
#include "cluster_kernel.hpp"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "thread_scratch.hpp"

COE_KERNELS_BEGIN

// The median of `values`; `work` is overwritten.
inline double median_of(const std::vector<double> &values, std::vector<double> &work) {
    if (values.empty()) return 0.0;
    std::vector<double> &v = work;
    v.assign(values.begin(), values.end());
    std::sort(v.begin(), v.end());
    const std::size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

inline void validate_weights(const float *w, std::uint32_t count, const char *what) {
    if (count > 0 && w == nullptr) throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, std::string(what) + " is null");
    for (std::uint32_t i = 0; i < count; ++i)
        if (!(w[i] > 0.f) || !std::isfinite(w[i]))
            throw sdk::status_error(COE_ERR_INVALID_ARGUMENT,
                                    std::string(what) + "[" + std::to_string(i) + "] must be finite and > 0");
}

inline void validate_labels(const std::uint32_t *labels, std::uint32_t count, std::uint32_t cluster_count) {
    if (count > 0 && labels == nullptr) throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "labels is null");
    thread_local std::vector<std::uint8_t> used;  // capacity kept per thread, as in cluster_kernel.hpp
    used.assign(cluster_count, 0);
    for (std::uint32_t i = 0; i < count; ++i) {
        if (labels[i] >= cluster_count)
            throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "label " + std::to_string(labels[i]) + " of item " +
                                                                  std::to_string(i) + " >= cluster_count");
        used[labels[i]] = 1;
    }
    for (std::uint32_t c = 0; c < cluster_count; ++c)
        if (!used[c]) throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "cluster " + std::to_string(c) + " is empty");
}

// The sum, in order, of `sorted` (ascending) without one copy of `w`: the
// canonical sum of the same terms less w, with no sort of its own.
inline double sum_without_one(const std::vector<double> &sorted, float w) {
    double sum = 0.0;
    bool skipped = false;
    for (double v : sorted) {
        if (!skipped && v == static_cast<double>(w)) {
            skipped = true;
            continue;
        }
        sum += v;
    }
    return sum;
}

// A sum over experts (or pairs of them) as the revision specifies: sorted
// and added in order (revisions below `exact_from`), or exact and rounded
// once; either way independent of the order of `terms`, which the sorted
// sum leaves sorted.
template <int Revision, int exact_from>
double panel_sum(std::vector<double> &terms) {
    if constexpr (Revision >= exact_from) return exact_sum(terms);
    else return canonical_sum(terms);
}

// Revision 1: a cluster's representative is its member closest to the other
// members; revision 2: its member closest to the whole panel (the highest
// centrality); revision 3: revision 2 with every sum exact, rounded once
// (coe/ops/consensus.h).
template <int Revision = 1>
coe_status consensus(coe_consensus_args &a) {
    static_assert(Revision >= 1 && Revision <= 3, "coe.consensus has revisions 1, 2 and 3");
    auto sum = [](std::vector<double> &terms) { return panel_sum<Revision, 3>(terms); };
    using sdk::status_error;
    const std::uint32_t n = a.count, k = a.cluster_count;
    if (n == 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "count is 0");
    if (a.reserved0 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved0 must be 0");
    if (!(a.prior_weight >= 0.f) || !std::isfinite(a.prior_weight) || !std::isfinite(a.outlier_z))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "prior_weight must be >= 0 and outlier_z finite");
    validate_similarity_matrix(a.similarity, a.similarity_stride, n, "similarity");
    validate_weights(a.weights, n, "weights");
    validate_labels(a.labels, n, k);
    if (!a.centrality || !a.robust_z || !a.outlier || !a.cluster_share || !a.cluster_cohesion ||
        !a.cluster_representative)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "an output buffer is null");

    auto sim = [&](std::uint32_t i, std::uint32_t j) -> double { return a.similarity[i * a.similarity_stride + j]; };
    // Every sum over experts goes through panel_sum: permuting the panel
    // must not change a single bit.
    // working vectors: per thread, capacity kept (see cluster_kernel.hpp)
    struct Scratch {
        std::vector<double> terms, weights_terms, sorted_w, centrality, share, dev;
        ItemGroups members_of;
    };
    thread_local Scratch tls;
    Scratch &s = thread_scratch(tls);
    std::vector<double> &terms = s.terms, &weights_terms = s.weights_terms, &sorted_w = s.sorted_w,
                        &centrality = s.centrality, &share = s.share, &dev = s.dev;
    ItemGroups &members_of = s.members_of;
    sorted_w.assign(a.weights, a.weights + n);
    const double total_w = sum(sorted_w);  // leaves sorted_w sorted (revisions 1, 2)
    ExactSum all_w;                        // revision 3: the weights' exact sum, to take one weight from
    if constexpr (Revision >= 3)
        for (std::uint32_t i = 0; i < n; ++i) all_w.add(a.weights[i]);

    // centrality, medoid, mean agreement
    // centrality: the weights of the others are the sorted weights less one
    // copy of w_i, summed in that order: the same terms in the same order as
    // canonical_sum would add them, without a sort per expert (revision 3:
    // the exact sum of all weights less w_i, exactly, rounded once)
    centrality.assign(n, 0.0);
    for (std::uint32_t i = 0; i < n; ++i) {
        double den = 0.0;
        if constexpr (Revision >= 3) {
            ExactSum others = all_w;
            others.add(-static_cast<double>(a.weights[i]));
            den = others.value();
            ExactSum weighted;
            for (std::uint32_t j = 0; j < n; ++j)
                if (j != i) weighted.add(a.weights[j] * sim(i, j));
            centrality[i] = den > 0.0 ? weighted.value() / den : 0.0;
        } else {
            terms.clear();
            for (std::uint32_t j = 0; j < n; ++j)
                if (j != i) terms.push_back(a.weights[j] * sim(i, j));
            den = sum_without_one(sorted_w, a.weights[i]);
            centrality[i] = den > 0.0 ? canonical_sum(terms) / den : 0.0;
        }
    }
    std::uint32_t medoid = 0;
    for (std::uint32_t i = 1; i < n; ++i)
        if (centrality[i] > centrality[medoid]) medoid = i;
    a.medoid = medoid;
    terms.clear();
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t j = i + 1; j < n; ++j) terms.push_back(sim(i, j));
    const double pairs = 0.5 * n * (n - 1.0);
    a.mean_agreement = static_cast<float>(n > 1 ? sum(terms) / pairs : 1.0);

    // clusters: share, cohesion, representative
    // each cluster's members in index order: the sums below visit only them
    // (canonical sums do not depend on the order of their terms)
    group_items(a.labels, n, k, members_of);
    share.assign(k, 0.0);
    for (std::uint32_t c = 0; c < k; ++c) {
        const std::uint32_t *first = members_of.first(c);
        const std::uint32_t members = members_of.size(c);
        weights_terms.clear();
        for (std::uint32_t m = 0; m < members; ++m) weights_terms.push_back(a.weights[first[m]]);
        share[c] = sum(weights_terms) / total_w;  // leaves weights_terms sorted (revisions 1, 2)
        a.cluster_share[c] = static_cast<float>(share[c]);
        double best = -2.0;
        std::uint32_t rep = n;
        for (std::uint32_t m = 0; Revision >= 2 && m < members; ++m)
            if (rep == n || centrality[first[m]] > centrality[rep]) rep = first[m];
        for (std::uint32_t m = 0; Revision == 1 && m < members; ++m) {
            const std::uint32_t i = first[m];
            // weighted mean similarity to the other members (1 when alone);
            // their weights summed as for centrality: the sorted weights of
            // the cluster less one copy of w_i
            terms.clear();
            for (std::uint32_t q = 0; q < members; ++q) {
                const std::uint32_t j = first[q];
                if (j != i) terms.push_back(a.weights[j] * sim(i, j));
            }
            const double den = sum_without_one(weights_terms, a.weights[i]);
            const double inner = den > 0.0 ? canonical_sum(terms) / den : 1.0;
            if (rep == n || inner > best) {
                best = inner;
                rep = i;
            }
        }
        a.cluster_representative[c] = rep;
        terms.clear();
        for (std::uint32_t x = 0; x < members; ++x)
            for (std::uint32_t y = x + 1; y < members; ++y) terms.push_back(sim(first[x], first[y]));
        const double cohesion_pairs = 0.5 * members * (members - 1.0);
        a.cluster_cohesion[c] = static_cast<float>(members > 1 ? sum(terms) / cohesion_pairs : 1.0);
    }
    // Clusters are numbered by smallest member index, which a permutation
    // changes; ties between equal shares are broken by that number.
    std::uint32_t major = 0;
    for (std::uint32_t c = 1; c < k; ++c)
        if (share[c] > share[major]) major = c;
    double runner_up = 0.0;
    for (std::uint32_t c = 0; c < k; ++c)
        if (c != major) runner_up = std::max(runner_up, share[c]);
    a.majority_cluster = major;
    a.margin = static_cast<float>(share[major] - runner_up);
    terms.clear();
    for (std::uint32_t c = 0; c < k; ++c)
        if (share[c] > 0.0) terms.push_back(-share[c] * std::log(share[c]));
    const double h = sum(terms);
    a.entropy = static_cast<float>(n > 1 ? h / std::log(static_cast<double>(n)) : 0.0);
    a.confidence = static_cast<float>(share[major] * total_w / (total_w + a.prior_weight));

    // robust z-scores of centrality (Iglewicz-Hoaglin modified z)
    const double med = median_of(centrality, terms);
    dev.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) dev[i] = std::fabs(centrality[i] - med);
    terms.assign(dev.begin(), dev.end());
    const double mean_dev = sum(terms) / n;
    const double mad = median_of(dev, terms);
    const double scale = mad > 0.0 ? mad / 0.6745 : mean_dev * 1.2533;
    for (std::uint32_t i = 0; i < n; ++i) {
        const double z = scale > 0.0 ? (centrality[i] - med) / scale : 0.0;
        a.centrality[i] = static_cast<float>(centrality[i]);
        a.robust_z[i] = static_cast<float>(z);
        a.outlier[i] = z < -static_cast<double>(a.outlier_z) ? 1 : 0;
    }
    return COE_OK;
}

COE_KERNELS_END
