// group_items_kernel.hpp - coe.group_items/1: a panel's items from their
// sparse feature rows to ranked groups, through a sparse item graph instead
// of an item_count x item_count matrix.
//
// What changed against coe.similarity + coe.cluster + coe.aggregate, and
// why: those three read and write the whole item matrix about five times
// (zeroed, filled, checked, scanned for components, checked again), and a
// panel's few hundred items make it the largest cost of the analysis, while
// most of its pairs share no feature and have similarity 0.  Only pairs
// inside a connected component of the graph of pairs at or above the
// threshold can matter to average linkage and to a group's representative.
// So the similarity is computed row by row for the pairs that share an index
// (the same products added in the same order as the sparse similarity
// kernel, so the same bits), the pairs at or above the threshold join
// components, and each component of two or more items is clustered on its
// own block.  The same integer and double-precision code runs in every
// backend.
//
// Working vectors are thread_local and keep their capacity from call to call.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "aggregate_kernel.hpp"
#include "cluster_kernel.hpp"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "radix_sort.hpp"
#include "similarity_kernel.hpp"
#include "thread_scratch.hpp"

COE_KERNELS_BEGIN

// The sparse item graph of some rows: every pair i < j of rows that shares an
// index, with its coe.similarity/2 value (every other pair has similarity 0),
// and the connected components of the graph of pairs whose similarity, as a
// double, is >= the threshold (the components coe.cluster/1 finds on the
// full matrix).
struct ItemGraph {
    std::vector<std::uint64_t> pair_start;  // row i's pairs: [pair_start[i], pair_start[i + 1])
    std::vector<std::uint32_t> pair_row;    // the other row of each pair, > i
    std::vector<float> pair_value;          // the pair's similarity
    std::vector<std::uint32_t> component;   // per row: the smallest row of its component
};

struct ItemGraphScratch {
    std::vector<std::uint64_t> postings, sorted;   // (index << 32) | entry
    std::vector<std::uint32_t> row_of, place;      // per entry: its row, its posting
    std::vector<std::uint32_t> run_end, post_row;  // per posting: where its run ends, its row
    std::vector<float> post_value;                 // per posting: its value
    std::vector<double> norm, dot;                 // per row
};

// dot[rows[t]] += value * values[t] for t < count, each rounded as written
// (the product of two floats is exact in double; no fused multiply-add).
// The rows are distinct, so eight sums could be gathered, added and
// scattered at once with AVX-512; on AMD Zen 5 that measured 1.5x slower
// than this loop (its scatters are microcoded), so every backend runs it.
inline void add_products(double *dot, float value, const std::uint32_t *rows, const float *values,
                         std::uint32_t count) {
    const double vx = value;
    for (std::uint32_t t = 0; t < count; ++t) dot[rows[t]] += vx * values[t];
}

// Builds `g` for the sparse rows of `a` (validated here as coe.similarity
// validates them).
inline void build_item_graph(const coe_similarity_args &a, double threshold, ItemGraph &g) {
    validate_sparse_rows(a);
    const std::uint32_t n = a.count;
    const std::uint64_t total = a.row_offsets[n];
    if (total > UINT32_MAX)
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "more than 2^32 - 1 sparse entries in one call");
    thread_local ItemGraphScratch tls;
    ItemGraphScratch &scratch = thread_scratch(tls);
    std::vector<std::uint64_t> &postings = scratch.postings, &sorted = scratch.sorted;
    std::vector<std::uint32_t> &row_of = scratch.row_of, &place = scratch.place, &run_end = scratch.run_end,
                               &post_row = scratch.post_row;
    std::vector<float> &post_value = scratch.post_value;
    std::vector<double> &norm = scratch.norm, &dot = scratch.dot;
    norm.assign(n, 0.0);
    postings.clear();
    row_of.resize(total);
    for (std::uint32_t i = 0; i < n; ++i) {  // as similarity_sparse does
        double sq = 0.0;
        for (std::uint64_t k = a.row_offsets[i]; k < a.row_offsets[i + 1]; ++k) {
            sq += static_cast<double>(a.values[k]) * a.values[k];
            postings.push_back(static_cast<std::uint64_t>(a.indices[k]) << 32 | k);
            row_of[k] = i;
        }
        norm[i] = std::sqrt(sq);
        check_finite_norm(static_cast<float>(norm[i]), i);
    }
    unsigned bits = 1;
    while (bits < 32 && (std::uint64_t{1} << bits) < a.index_bound) ++bits;
    radix_sort_high32(postings, sorted, bits);
    // where each entry landed and where its index's run ends, and the
    // postings' rows and values side by side (what the products read)
    place.resize(total);
    run_end.resize(total);
    post_row.resize(total);
    post_value.resize(total);
    for (std::size_t run = 0; run < postings.size();) {
        std::size_t end = run + 1;
        while (end < postings.size() && (postings[end] >> 32) == (postings[run] >> 32)) ++end;
        for (std::size_t p = run; p < end; ++p) {
            const auto entry = static_cast<std::uint32_t>(postings[p]);
            place[entry] = static_cast<std::uint32_t>(p);
            run_end[p] = static_cast<std::uint32_t>(end);
            post_row[p] = row_of[entry];
            post_value[p] = a.values[entry];
        }
        run = end;
    }

    g.pair_start.assign(static_cast<std::size_t>(n) + 1, 0);
    g.pair_row.clear();
    g.pair_value.clear();
    g.component.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) g.component[i] = i;
    auto join = [&](std::uint32_t i, std::uint32_t j) {
        const std::uint32_t ri = find_root(g.component, i), rj = find_root(g.component, j);
        if (ri != rj) g.component[std::max(ri, rj)] = std::min(ri, rj);
    };
    dot.assign(n, 0.0);
    // pairs that share no index have similarity 0: edges too when 0 reaches the threshold
    const bool zero_joins = 0.0 >= threshold;
    for (std::uint32_t i = 0; i < n; ++i) {
        // row i's entries in increasing index order: each pair's products are
        // added in the order of similarity_sparse's runs.  A run's rows are
        // distinct and increasing, so its products go to distinct sums.
        std::uint32_t last = i;  // the largest row that shares an index with row i
        for (std::uint64_t k = a.row_offsets[i]; k < a.row_offsets[i + 1]; ++k) {
            const std::uint32_t from = place[k] + 1, to = run_end[place[k]];
            if (from == to) continue;
            add_products(dot.data(), a.values[k], post_row.data() + from, post_value.data() + from, to - from);
            last = std::max(last, post_row[to - 1]);
        }
        // A sum that stayed 0 (none, or products that cancel: from +0 a sum
        // never becomes -0) gives similarity +0, as a pair sharing nothing.
        g.pair_start[i] = g.pair_row.size();
        const std::uint32_t scan_end = zero_joins ? n : last + 1;
        for (std::uint32_t j = i + 1; j < scan_end; ++j) {
            if (dot[j] == 0.0) {
                if (zero_joins) join(i, j);
                continue;
            }
            const double c = (norm[i] == 0.0 || norm[j] == 0.0) ? 0.0 : dot[j] / (norm[i] * norm[j]);
            const auto value = static_cast<float>(std::min(1.0, std::max(-1.0, c)));
            g.pair_row.push_back(j);
            g.pair_value.push_back(value);
            if (static_cast<double>(value) >= threshold) join(i, j);
            dot[j] = 0.0;
        }
    }
    g.pair_start[n] = g.pair_row.size();
    for (std::uint32_t i = 0; i < n; ++i) g.component[i] = find_root(g.component, i);
}

struct GroupItemsScratch {
    ItemGraph graph;
    std::vector<std::uint32_t> local, parent;  // per item: its place in its component, its slot
    std::vector<std::uint32_t> block_size;     // per component root: its members
    std::vector<std::uint64_t> block_at;       // per component root: where its block starts
    std::vector<float> blocks;                 // each component's similarities, m x m
};

inline coe_status group_items(coe_group_items_args &a) {
    using sdk::status_error;
    if (a.method != COE_CLUSTER_AVERAGE_LINKAGE)
        throw status_error(COE_ERR_UNSUPPORTED, "unknown clustering method " + std::to_string(a.method));
    if (a.reserved0 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved0 must be 0");
    if (!std::isfinite(a.threshold)) throw status_error(COE_ERR_INVALID_ARGUMENT, "threshold is not finite");
    const std::uint32_t n = a.item_count;
    coe_aggregate_args agg{};
    agg.struct_size = sizeof agg;
    agg.item_count = n;
    agg.expert_count = a.expert_count;
    agg.item_expert = a.item_expert;
    agg.expert_weights = a.expert_weights;
    agg.quorum = a.quorum;
    agg.prior_weight = a.prior_weight;
    validate_aggregate_inputs(agg);
    if (n == 0) {
        a.group_count = 0;
        return COE_OK;
    }
    if (a.labels == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "labels is null");
    if (!a.supporters || !a.support || !a.confidence || !a.representative || !a.consensus || !a.ranking)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "an output buffer is null");

    coe_similarity_args rows{};
    rows.struct_size = sizeof rows;
    rows.kind = COE_VECTORS_SPARSE;
    rows.count = n;
    rows.row_offsets = a.row_offsets;
    rows.indices = a.indices;
    rows.values = a.values;
    rows.index_bound = a.index_bound;
    const double threshold = a.threshold;
    thread_local GroupItemsScratch tls;
    GroupItemsScratch &scratch = thread_scratch(tls);
    ItemGraph &graph = scratch.graph;
    std::vector<std::uint32_t> &local = scratch.local, &parent = scratch.parent, &block_size = scratch.block_size;
    std::vector<std::uint64_t> &block_at = scratch.block_at;
    std::vector<float> &blocks = scratch.blocks;
    build_item_graph(rows, threshold, graph);

    // Each component of two or more items: its block of similarities, kept
    // for the representatives, clustered as coe.cluster/1 clusters it.
    local.resize(n);
    parent.resize(n);
    block_at.resize(n);
    block_size.resize(n);
    blocks.clear();
    agglomerate_components(
        graph.component.data(), n, threshold,
        [&](std::uint32_t root, const std::uint32_t *members, std::uint32_t m, double *working) {
            for (std::uint32_t x = 0; x < m; ++x) local[members[x]] = x;
            block_at[root] = blocks.size();
            block_size[root] = m;
            blocks.resize(blocks.size() + static_cast<std::size_t>(m) * m, 0.f);
            float *block = blocks.data() + block_at[root];
            for (std::uint32_t x = 0; x < m; ++x) {
                const std::uint32_t i = members[x];
                block[static_cast<std::size_t>(x) * m + x] = 1.f;
                for (std::uint64_t p = graph.pair_start[i]; p < graph.pair_start[i + 1]; ++p) {
                    const std::uint32_t j = graph.pair_row[p];
                    if (graph.component[j] != root) continue;
                    const std::uint32_t y = local[j];
                    block[static_cast<std::size_t>(x) * m + y] = block[static_cast<std::size_t>(y) * m + x] =
                        graph.pair_value[p];
                }
            }
            std::copy(block, block + static_cast<std::size_t>(m) * m, working);
        },
        parent.data());
    a.group_count = label_slots(parent.data(), n, a.labels);

    agg.group_count = a.group_count;
    agg.item_group = a.labels;
    agg.supporters = a.supporters;
    agg.support = a.support;
    agg.confidence = a.confidence;
    agg.representative = a.representative;
    agg.consensus = a.consensus;
    agg.ranking = a.ranking;
    // items of one group share a component, so both are in its block
    aggregate_groups<2>(agg, [&](std::uint32_t i, std::uint32_t j) -> double {
        const std::uint32_t root = graph.component[i];
        return blocks[block_at[root] + static_cast<std::size_t>(local[i]) * block_size[root] + local[j]];
    });
    return COE_OK;
}

COE_KERNELS_END
