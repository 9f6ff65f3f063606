// cluster_kernel.hpp - coe.cluster/1: average-linkage agglomerative
// clustering with a similarity threshold.
//
// A nearest-neighbour cache keeps the usual cost near O(n^2) (O(n^3) in the
// worst case); panels have tens of experts and a few hundred recommendation
// items.  The same double-precision code runs in every backend, so equal
// inputs give equal labels.
//
// Working vectors are thread_local and keep their capacity from call to call
// (each is fully rewritten before it is read): steady-state calls allocate
// nothing.  No kernel calls itself, so one set per function is enough.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "similarity_kernel.hpp"  // scalar_arch, is_scalar_v
#include "thread_scratch.hpp"

COE_KERNELS_BEGIN

// Throws unless `m` is a count x count matrix of finite values.
inline void validate_similarity_matrix(const float *m, std::uint64_t stride, std::uint32_t count, const char *what) {
    using sdk::status_error;
    if (count == 0) return;
    if (m == nullptr || stride < count)
        throw status_error(COE_ERR_INVALID_ARGUMENT, std::string(what) + " is null or its stride < count");
    for (std::uint32_t i = 0; i < count; ++i) {
        // a branch-free pass the compiler vectorises: the largest exponent
        // field of the row (all ones only for Inf and NaN); the place is
        // looked for only when there is one
        const float *row = m + i * stride;
        std::uint32_t exponent = 0;
        for (std::uint32_t j = 0; j < count; ++j) {
            std::uint32_t bits;
            std::memcpy(&bits, &row[j], sizeof bits);
            exponent = std::max(exponent, bits & 0x7f800000u);
        }
        if (exponent != 0x7f800000u) continue;
        for (std::uint32_t j = 0; j < count; ++j)
            if (!std::isfinite(row[j]))
                throw status_error(COE_ERR_INVALID_ARGUMENT, std::string(what) + " has a non-finite value at (" +
                                                                 std::to_string(i) + ", " + std::to_string(j) + ")");
    }
}

// The largest of v[from .. n) and the first index holding it (at_max
// receives v[that index]); UINT32_MAX when the range is empty or holds only
// -infinity.  Vector backends take the maximum over lanes, then look for
// the first element equal to it: the element a strict ">" scan in index
// order keeps (-0 and +0 compare equal, and the one found first is the one
// returned).
template <class A>
inline std::uint32_t first_max(const double *v, std::uint32_t from, std::uint32_t n, double &at_max) {
    constexpr double minus_infinity = -std::numeric_limits<double>::infinity();
    double m = minus_infinity;
    std::uint32_t j = from;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<double, A>;
        constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
        if (j + w <= n) {
            batch lanes(minus_infinity);
            for (; j + w <= n; j += w) {  // x > m ? x : m per lane (xsimd::max hits a GCC 12 warning on AVX-512)
                const batch x = batch::load_unaligned(v + j);
                lanes = select(x > lanes, x, lanes);  // xsimd's, by argument-dependent lookup
            }
            alignas(64) double spill[w];
            lanes.store_aligned(spill);
            for (double x : spill) m = x > m ? x : m;
        }
    }
    for (; j < n; ++j) m = v[j] > m ? v[j] : m;
    if (m == minus_infinity) return UINT32_MAX;
    j = from;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<double, A>;
        constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
        const batch wanted(m);
        while (j + w <= n && !any(batch::load_unaligned(v + j) == wanted)) j += w;
    }
    while (v[j] != m) ++j;  // m is there: the scan stops
    at_max = v[j];
    return j;
}

// The first j in [from, n) with row[j] >= wanted, or n.  Vector backends
// skip whole batches that hold none (the values are finite, so a batch
// compare decides exactly as the scalar one).
template <class A>
inline std::uint32_t next_at_least(const float *row, std::uint32_t from, std::uint32_t n, float wanted) {
    std::uint32_t j = from;
    if constexpr (!is_scalar_v<A>) {
        using batch = xsimd::batch<float, A>;
        constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
        const batch at_least(wanted);
        while (j + w <= n && !any(batch::load_unaligned(row + j) >= at_least)) j += w;
    }
    while (j < n && !(row[j] >= wanted)) ++j;
    return j;
}

// Average linkage over the n x n matrix `s` (double, row-major, finite;
// modified): parent[i] receives the slot item i was merged into (itself if
// never).
//
// A merged-away slot's column is set to -infinity in every live row, so the
// scans need no test of which slots are alive: -infinity never wins (the
// values are finite), and the average-linkage update keeps it -infinity.
// Every scan and the update run over whole rows with the backend's vectors;
// the values computed are the same bits in every backend (the same
// operations, in double, lane by lane; only selections are reordered).
template <class A>
inline void agglomerate(scratch_vector<double> &s, std::uint32_t n, double threshold, std::uint32_t *parent) {
    // Cluster "slots" are named by their smallest member index; merging B
    // into A (min A < min B) keeps slot A.
    constexpr double minus_infinity = -std::numeric_limits<double>::infinity();
    auto row = [&](std::uint32_t i) { return s.data() + static_cast<std::size_t>(i) * n; };
    auto at = [&](std::uint32_t i, std::uint32_t j) -> double & { return s[static_cast<std::size_t>(i) * n + j]; };
    struct Scratch {
        std::vector<std::uint32_t> size, best;  // per slot: members, best partner
        std::vector<std::uint32_t> live;        // the live slots, in increasing order
        std::vector<double> best_value;         // -infinity: merged away, or no partner
    };
    thread_local Scratch tls;
    Scratch &scratch = thread_scratch(tls);
    std::vector<std::uint32_t> &size = scratch.size, &best = scratch.best;
    std::vector<std::uint32_t> &live = scratch.live;
    std::vector<double> &best_value = scratch.best_value;
    size.assign(n, 1);
    live.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) live[i] = i;
    for (std::uint32_t i = 0; i < n; ++i) parent[i] = i;

    // Nearest-neighbour cache: for every live slot i, its best partner j > i
    // (highest similarity, lowest j on ties).  The pair merged next is the
    // best over all i, lowest i on ties: the lexicographically first of the
    // pairs with the highest similarity, exactly as a full scan would pick.
    constexpr std::uint32_t none = UINT32_MAX;
    best.assign(n, none);
    best_value.assign(n, minus_infinity);
    auto rescan = [&](std::uint32_t i) {
        best_value[i] = minus_infinity;
        best[i] = first_max<A>(row(i), i + 1, n, best_value[i]);
    };
    for (std::uint32_t i = 0; i < n; ++i) rescan(i);

    for (;;) {
        double top = minus_infinity;
        const std::uint32_t ia = first_max<A>(best_value.data(), 0, n, top);
        if (ia == none || top < threshold) break;
        const std::uint32_t ib = best[ia];
        // Lance-Williams update for average linkage, over the whole of row
        // ia (dead columns stay -infinity; the diagonal and column ib are
        // never read), then mirrored into column ia of the live rows (a
        // dead slot's row is never read again)
        const double na = size[ia], nb = size[ib];
        double *ra = row(ia);
        const double *rb = row(ib);
        std::uint32_t k = 0;
        if constexpr (!is_scalar_v<A>) {
            using batch = xsimd::batch<double, A>;
            constexpr std::uint32_t w = static_cast<std::uint32_t>(batch::size);
            const batch va(na), vb(nb), total(na + nb);
            for (; k + w <= n; k += w)
                ((va * batch::load_unaligned(ra + k) + vb * batch::load_unaligned(rb + k)) / total)
                    .store_unaligned(ra + k);
        }
        for (; k < n; ++k) ra[k] = (na * ra[k] + nb * rb[k]) / (na + nb);
        live.erase(std::lower_bound(live.begin(), live.end(), ib));
        for (const std::uint32_t j : live) {
            at(j, ia) = ra[j];
            at(j, ib) = minus_infinity;  // slot ib is gone
        }
        size[ia] += size[ib];
        best[ib] = none;
        best_value[ib] = minus_infinity;
        parent[ib] = ia;
        // refresh the cache where the merge may have changed the answer
        for (const std::uint32_t j : live) {
            if (j == ia || best[j] == ia || best[j] == ib) {
                rescan(j);
            } else if (j < ia && (ra[j] > best_value[j] || (ra[j] == best_value[j] && ia < best[j]))) {
                best[j] = ia;  // ra[j] is at(j, ia), read along the row
                best_value[j] = ra[j];
            }
        }
    }
}

// Items 0..n-1 grouped by group[i] (< groups): group g's items, in
// increasing order, are items[start[g]] .. items[start[g + 1] - 1].
struct ItemGroups {
    std::vector<std::uint32_t> start, items;
    const std::uint32_t *first(std::uint32_t g) const { return items.data() + start[g]; }
    std::uint32_t size(std::uint32_t g) const { return start[g + 1] - start[g]; }
};

// Rewrites `out` (its capacity is reused).
inline void group_items(const std::uint32_t *group, std::uint32_t n, std::uint32_t groups, ItemGroups &out) {
    out.start.assign(static_cast<std::size_t>(groups) + 1, 0);
    out.items.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) ++out.start[group[i] + 1];
    for (std::uint32_t g = 0; g < groups; ++g) out.start[g + 1] += out.start[g];
    // each item goes to its group's next free place; start[g] is advanced
    // as group g fills, then the starts are shifted back
    for (std::uint32_t i = 0; i < n; ++i) out.items[out.start[group[i]]++] = i;
    for (std::uint32_t g = groups; g > 0; --g) out.start[g] = out.start[g - 1];
    out.start[0] = 0;
}

inline std::uint32_t find_root(std::vector<std::uint32_t> &up, std::uint32_t i) {
    while (up[i] != i) i = up[i] = up[up[i]];
    return i;
}

template <class A = scalar_arch>
coe_status cluster(coe_cluster_args &a) {
    using sdk::status_error;
    if (a.method != COE_CLUSTER_AVERAGE_LINKAGE)
        throw status_error(COE_ERR_UNSUPPORTED, "unknown clustering method " + std::to_string(a.method));
    if (a.reserved0 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved0 must be 0");
    if (!std::isfinite(a.threshold)) throw status_error(COE_ERR_INVALID_ARGUMENT, "threshold is not finite");
    validate_similarity_matrix(a.similarity, a.similarity_stride, a.count, "similarity");
    if (a.count > 0 && a.labels == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "labels is null");

    const std::uint32_t n = a.count;
    const double threshold = a.threshold;  // a float: float compares with it decide as double ones
    auto sim = [&](std::uint32_t i, std::uint32_t j) { return a.similarity[i * a.similarity_stride + j]; };
    // Two clusters merge only when their average similarity reaches the
    // threshold, so only when some pair across them does: clusters never
    // cross the connected components of the graph of such pairs, and merges
    // in one component change no value another one reads.  Each component is
    // clustered on its own (a panel's items are mostly singletons); the
    // merges, ties included, are those of the whole matrix.
    struct Scratch {
        std::vector<std::uint32_t> component, parent, local_parent, label_of_slot;
        ItemGroups by_component;
        // the working matrix is kept per thread: item panels make it large,
        // and a fresh one per call would cost a page fault per 4 KiB
        scratch_vector<double> working;  // every element written before it is read
    };
    thread_local Scratch tls;
    Scratch &scratch = thread_scratch(tls);
    std::vector<std::uint32_t> &component = scratch.component, &parent = scratch.parent,
                               &local_parent = scratch.local_parent, &label_of_slot = scratch.label_of_slot;
    ItemGroups &by_component = scratch.by_component;
    component.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) component[i] = i;
    // once every item is in one component no pair can change it: the scan
    // stops (with word vectors most pairs reach the threshold, and the first
    // rows join everything)
    std::uint32_t components = n;
    for (std::uint32_t i = 0; i < n && components > 1; ++i) {
        const float *row = a.similarity + i * a.similarity_stride;
        for (std::uint32_t j = next_at_least<A>(row, i + 1, n, a.threshold); j < n;
             j = next_at_least<A>(row, j + 1, n, a.threshold)) {
            const std::uint32_t ri = find_root(component, i), rj = find_root(component, j);
            if (ri != rj) {
                component[std::max(ri, rj)] = std::min(ri, rj);
                --components;
            }
        }
    }
    // the members of each component, in increasing index order (so that the
    // slots keep their order), grouped under their root
    for (std::uint32_t i = 0; i < n; ++i) component[i] = find_root(component, i);
    group_items(component.data(), n, n, by_component);
    parent.resize(n);
    scratch_vector<double> &s = scratch.working;
    for (std::uint32_t root = 0; root < n; ++root) {
        const std::uint32_t *members = by_component.first(root);
        const std::uint32_t m = by_component.size(root);
        if (m == 0) continue;  // not a root
        if (m == 1) {
            parent[root] = root;
            continue;
        }
        s.resize(static_cast<std::size_t>(m) * m);
        if (members[m - 1] - members[0] == m - 1) {  // consecutive items (all of them, often): whole rows
            for (std::uint32_t x = 0; x < m; ++x) {
                const float *from = a.similarity + members[x] * a.similarity_stride + members[0];
                std::copy(from, from + m, s.data() + static_cast<std::size_t>(x) * m);
            }
        } else {
            for (std::uint32_t x = 0; x < m; ++x)
                for (std::uint32_t y = 0; y < m; ++y)
                    s[static_cast<std::size_t>(x) * m + y] = sim(members[x], members[y]);
        }
        local_parent.resize(m);
        agglomerate<A>(s, m, threshold, local_parent.data());
        for (std::uint32_t x = 0; x < m; ++x) parent[members[x]] = members[local_parent[x]];
    }

    // Labels numbered by smallest member index: slots are exactly that.
    label_of_slot.assign(n, 0);
    std::uint32_t next = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        if (parent[i] == i) label_of_slot[i] = next++;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t r = i;
        while (parent[r] != r) r = parent[r];
        a.labels[i] = label_of_slot[r];
    }
    a.cluster_count = next;
    return COE_OK;
}

COE_KERNELS_END
