/*
 * coe/ops/cluster.h - the operation "coe.cluster" of the plugin ABI.
 *
 *   coe.cluster/1   since ABI 1.0   coe_cluster_args
 *
 * Agglomerative clustering of items from their similarity matrix (e.g. from
 * coe.similarity).
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_CLUSTER_H
#define COE_OPS_CLUSTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_CLUSTER "coe.cluster" /* revision 1: coe_cluster_args    */

/* coe.cluster/1 - agglomerative clustering of `count` items from their
 * similarity matrix.
 *
 * COE_CLUSTER_AVERAGE_LINKAGE: start from singletons; repeatedly merge the
 * two clusters with the highest average pairwise similarity, as long as it is
 * >= threshold.  Ties go to the pair whose smallest member indices are
 * lowest (compared as (min A, min B) with min A < min B).  Arithmetic is in
 * double in a fixed order, so equal inputs give equal labels in every
 * backend.  labels[i] is the cluster of item i; clusters are numbered
 * 0..cluster_count-1 in order of their smallest member index. */
#define COE_CLUSTER_AVERAGE_LINKAGE 1u

typedef struct coe_cluster_args {
    uint32_t struct_size;
    uint32_t count;
    const float *similarity;    /* count x count, symmetric                     */
    uint64_t similarity_stride; /* floats between rows, >= count                */
    uint32_t method;            /* COE_CLUSTER_AVERAGE_LINKAGE                  */
    float threshold;            /* merge while the best average >= threshold    */
    uint32_t *labels;           /* out: count labels                            */
    uint32_t cluster_count;     /* out                                          */
    uint32_t reserved0;         /* must be 0                                    */
} coe_cluster_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_CLUSTER_H */
