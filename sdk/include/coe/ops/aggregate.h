/*
 * coe/ops/aggregate.h - the operation "coe.aggregate" of the plugin ABI.
 *
 *   coe.aggregate/1   since ABI 1.0   coe_aggregate_args
 *   coe.aggregate/2   since ABI 1.5   coe_aggregate_args (the same struct)
 *
 * Support and ranking of items stated by experts and merged into groups
 * (e.g. by coe.cluster).
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_AGGREGATE_H
#define COE_OPS_AGGREGATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_AGGREGATE "coe.aggregate" /* revisions 1, 2: coe_aggregate_args */

/* coe.aggregate/1 - support and ranking of merged items (recommendations).
 *
 * Items were stated by experts (item_expert) and merged into groups of
 * near-duplicates (item_group, e.g. from coe.cluster over item similarities).
 * For each group, every expert counts once however many of its items fell in
 * the group:
 *   supporters[g]     = number of distinct experts
 *   support[g]        = their weight / total weight of all experts
 *   confidence[g]     = their weight / (total weight + prior_weight)
 *   representative[g] = item with the highest mean similarity to the other
 *                       items of its group (lowest index on ties)
 *   consensus[g]      = supporters[g] >= quorum
 * ranking lists the groups by support (desc), supporters (desc), then lowest
 * item index.  Arithmetic is in double; every sum (the weights, a mean's
 * similarities) sorts its terms by value and adds them in that order, so
 * that the order of the items and experts changes no bit.
 *
 * coe.aggregate/2 - revision 1's results with every sum exact: the exact sum
 * of its terms rounded once to the nearest double, ties to even, as in
 * coe.consensus/3 (coe/ops/consensus.h), with no sort.  Everything else is
 * as in revision 1. */
typedef struct coe_aggregate_args {
    uint32_t struct_size;
    uint32_t item_count;
    uint32_t expert_count;
    uint32_t group_count;
    const uint32_t *item_group;  /* item_count groups < group_count              */
    const uint32_t *item_expert; /* item_count experts < expert_count            */
    const float *similarity;     /* item_count x item_count                      */
    uint64_t similarity_stride;
    const float *expert_weights; /* expert_count weights, each > 0               */
    uint32_t quorum;             /* supporters needed for consensus              */
    float prior_weight;          /* >= 0                                         */
    /* per group outputs (group_count each) */
    uint32_t *supporters;
    float *support;
    float *confidence;
    uint32_t *representative;
    uint8_t *consensus;
    uint32_t *ranking; /* group_count group numbers, best first        */
} coe_aggregate_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_AGGREGATE_H */
