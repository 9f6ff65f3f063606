/*
 * coe/ops/group_items.h - the operation "coe.group_items" of the plugin ABI.
 *
 *   coe.group_items/1   since ABI 1.6   coe_group_items_args
 *
 * Items stated by experts (recommendations, limitations) merged into groups
 * of near-duplicates and ranked, from their sparse feature rows, in one call.
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_GROUP_ITEMS_H
#define COE_OPS_GROUP_ITEMS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_GROUP_ITEMS "coe.group_items" /* revision 1: coe_group_items_args */

/* coe.group_items/1 - groups of near-duplicate items and their support.
 *
 * The results are, bit for bit, those of three operations in turn:
 *   S                   = coe.similarity/2 of the rows (COE_VECTORS_SPARSE);
 *   labels, group_count = coe.cluster/1 of S at `threshold` with `method`;
 *   the group outputs   = coe.aggregate/2 of S, those labels, item_expert,
 *                         expert_weights, quorum and prior_weight
 * (coe/ops/similarity.h, cluster.h, aggregate.h say what each one computes).
 *
 * Why one call: two items can share a group only when a chain of pairs whose
 * similarity reaches the threshold joins them, and a group's representative
 * depends only on the similarities inside the group.  So only the pairs
 * inside a connected component of that thresholded graph matter, and a
 * panel's items mostly share no feature at all.  An implementation may, as
 * the reference does, compute the dot products of the pairs that share an
 * index only (an inverted index), keep the pairs at or above the threshold as
 * a sparse graph, and cluster each connected component on its own small
 * block, never forming the item_count x item_count matrix.
 *
 * The group outputs have room for item_count groups (there are never more);
 * the first group_count are written. */
typedef struct coe_group_items_args {
    uint32_t struct_size;
    uint32_t item_count;
    /* the items' feature rows, CSR as coe_similarity_args' sparse input */
    const uint64_t *row_offsets; /* item_count + 1 offsets                      */
    const uint32_t *indices;     /* strictly increasing within a row            */
    const float *values;
    uint32_t index_bound; /* every index < index_bound (2^bucket_bits)         */
    uint32_t method;      /* COE_CLUSTER_AVERAGE_LINKAGE                       */
    float threshold;      /* merge while the best average >= threshold         */
    uint32_t expert_count;
    const uint32_t *item_expert;  /* item_count experts < expert_count         */
    const float *expert_weights;  /* expert_count weights, each > 0            */
    uint32_t quorum;              /* supporters needed for consensus           */
    float prior_weight;           /* >= 0                                      */
    /* outputs */
    uint32_t *labels;         /* item_count groups, numbered as coe.cluster's  */
    uint32_t group_count;     /* number of groups                              */
    uint32_t reserved0;       /* must be 0                                     */
    uint32_t *supporters;     /* item_count each, the first group_count written */
    float *support;
    float *confidence;
    uint32_t *representative;
    uint8_t *consensus;
    uint32_t *ranking; /* group numbers, best first                           */
} coe_group_items_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_GROUP_ITEMS_H */
