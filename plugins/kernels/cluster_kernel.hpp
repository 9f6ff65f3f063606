// cluster_kernel.hpp - coe.cluster/1: average-linkage agglomerative
// clustering with a similarity threshold.
//
// A nearest-neighbour cache keeps the usual cost near O(n^2) (O(n^3) in the
// worst case); panels have tens of experts and a few hundred recommendation
// items.  The same double-precision code runs in every backend, so equal
// inputs give equal labels.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

// Throws unless `m` is a count x count matrix of finite values.
inline void validate_similarity_matrix(const float *m, std::uint64_t stride, std::uint32_t count, const char *what) {
    using sdk::status_error;
    if (count == 0) return;
    if (m == nullptr || stride < count)
        throw status_error(COE_ERR_INVALID_ARGUMENT, std::string(what) + " is null or its stride < count");
    for (std::uint32_t i = 0; i < count; ++i)
        for (std::uint32_t j = 0; j < count; ++j)
            if (!std::isfinite(m[i * stride + j]))
                throw status_error(COE_ERR_INVALID_ARGUMENT, std::string(what) + " has a non-finite value at (" +
                                                                 std::to_string(i) + ", " + std::to_string(j) + ")");
}

inline coe_status cluster(coe_cluster_args &a) {
    using sdk::status_error;
    if (a.method != COE_CLUSTER_AVERAGE_LINKAGE)
        throw status_error(COE_ERR_UNSUPPORTED, "unknown clustering method " + std::to_string(a.method));
    if (a.reserved0 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved0 must be 0");
    if (!std::isfinite(a.threshold)) throw status_error(COE_ERR_INVALID_ARGUMENT, "threshold is not finite");
    validate_similarity_matrix(a.similarity, a.similarity_stride, a.count, "similarity");
    if (a.count > 0 && a.labels == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "labels is null");

    const std::uint32_t n = a.count;
    // Cluster "slots" are named by their smallest member index; merging B
    // into A (min A < min B) keeps slot A.
    // the working matrix is kept per thread: item panels make it large, and a
    // fresh one per call would cost a page fault per 4 KiB
    thread_local std::vector<double> working;
    std::vector<double> &s = working;
    s.resize(static_cast<std::size_t>(n) * n);
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t j = 0; j < n; ++j)
            s[static_cast<std::size_t>(i) * n + j] = a.similarity[i * a.similarity_stride + j];
    auto at = [&](std::uint32_t i, std::uint32_t j) -> double & { return s[static_cast<std::size_t>(i) * n + j]; };
    std::vector<std::uint32_t> size(n, 1), parent(n);
    std::vector<bool> alive(n, true);
    for (std::uint32_t i = 0; i < n; ++i) parent[i] = i;

    // Nearest-neighbour cache: for every live slot i, its best partner j > i
    // (highest similarity, lowest j on ties).  The pair merged next is the
    // best over all i, lowest i on ties: the lexicographically first of the
    // pairs with the highest similarity, exactly as a full scan would pick.
    constexpr std::uint32_t none = UINT32_MAX;
    std::vector<std::uint32_t> best(n, none);
    std::vector<double> best_value(n, 0.0);
    auto rescan = [&](std::uint32_t i) {
        best[i] = none;
        for (std::uint32_t j = i + 1; j < n; ++j)
            if (alive[j] && (best[i] == none || at(i, j) > best_value[i])) {
                best[i] = j;
                best_value[i] = at(i, j);
            }
    };
    for (std::uint32_t i = 0; i < n; ++i) rescan(i);

    const double threshold = a.threshold;
    for (;;) {
        std::uint32_t ia = none;
        for (std::uint32_t i = 0; i < n; ++i)
            if (alive[i] && best[i] != none && (ia == none || best_value[i] > best_value[ia])) ia = i;
        if (ia == none || best_value[ia] < threshold) break;
        const std::uint32_t ib = best[ia];
        // Lance-Williams update for average linkage
        const double na = size[ia], nb = size[ib];
        for (std::uint32_t k = 0; k < n; ++k) {
            if (!alive[k] || k == ia || k == ib) continue;
            const double v = (na * at(ia, k) + nb * at(ib, k)) / (na + nb);
            at(ia, k) = v;
            at(k, ia) = v;
        }
        size[ia] += size[ib];
        alive[ib] = false;
        parent[ib] = ia;
        // refresh the cache where the merge may have changed the answer
        for (std::uint32_t k = 0; k < n; ++k) {
            if (!alive[k]) continue;
            if (k == ia || best[k] == ia || best[k] == ib) {
                rescan(k);
            } else if (k < ia && (at(k, ia) > best_value[k] || (at(k, ia) == best_value[k] && ia < best[k]))) {
                best[k] = ia;
                best_value[k] = at(k, ia);
            }
        }
    }

    // Labels numbered by smallest member index: slots are exactly that.
    std::vector<std::uint32_t> label_of_slot(n, 0);
    std::uint32_t next = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        if (alive[i]) label_of_slot[i] = next++;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t r = i;
        while (parent[r] != r) r = parent[r];
        a.labels[i] = label_of_slot[r];
    }
    a.cluster_count = next;
    return COE_OK;
}

COE_KERNELS_END
