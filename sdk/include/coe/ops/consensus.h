/*
 * coe/ops/consensus.h - the operation "coe.consensus" of the plugin ABI.
 *
 *   coe.consensus/1   since ABI 1.0   coe_consensus_args
 *   coe.consensus/2   since ABI 1.4   coe_consensus_args (the same struct)
 *   coe.consensus/3   since ABI 1.5   coe_consensus_args (the same struct)
 *
 * Agreement metrics of a panel of experts clustered by coe.cluster.  All
 * three revisions are specified below and all are served.
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_CONSENSUS_H
#define COE_OPS_CONSENSUS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_CONSENSUS "coe.consensus" /* revisions 1, 2, 3: coe_consensus_args */

/* coe.consensus/1 - agreement metrics of a clustered panel.
 *
 * With weights w (> 0) and similarities s:
 *   centrality[i]   = sum_{j!=i} w_j s_ij / sum_{j!=i} w_j   (0 when count = 1)
 *   mean_agreement  = mean of s_ij over pairs i<j            (1 when count = 1)
 *   medoid          = argmax centrality (lowest index on ties)
 *   cluster_share[c]= sum of w over members / sum of w
 *   majority        = cluster with the largest share (lowest number on ties)
 *   margin          = majority share - runner-up share (= share if one cluster)
 *   entropy         = -sum share ln share / ln count   (0 when count = 1)
 *   representative  = member with the highest weighted mean similarity to the
 *                     other members of its cluster (lowest index on ties)
 *   cohesion[c]     = mean pairwise similarity inside c (1 for a singleton)
 *   robust_z[i]     = 0.6745 (centrality_i - median) / MAD, where MAD is the
 *                     median absolute deviation; if MAD = 0, it is
 *                     (centrality_i - median) / (1.2533 * mean absolute
 *                     deviation); if that is 0 too, z = 0
 *   outlier[i]      = robust_z[i] < -outlier_z  (low agreement only)
 *   confidence      = majority weight / (total weight + prior_weight)
 * Arithmetic is in double in a fixed order; results are rounded to float.
 *
 * coe.consensus/2 (ABI 1.4) - the same arguments and results except one:
 *   representative  = member with the highest centrality (lowest index on
 *                     ties): the member of the cluster that the whole panel,
 *                     the other clusters included, agrees with most.
 * Revision 1's representative stands for its cluster alone; the majority's
 * representative is the answer the circle recommends, and the one the rest
 * of the panel also leans towards is the better pick (measured on the dev
 * TruthfulQA panels: docs/analysis.md).
 *
 * Sums in revisions 1 and 2: every sum over experts (or pairs of experts)
 * sorts its terms by value and adds them in that order, in double, so that
 * permuting the experts changes no bit; sum_{j!=i} w_j adds the sorted
 * weights less one copy of w_i.
 *
 * coe.consensus/3 - revision 2's results with every sum exact: each sum over
 * experts (or pairs) is the exact sum of its terms (each term computed in
 * double as written: w_j s_ij is the product of two floats, exact in double),
 * rounded once to the nearest double, ties to even; sum_{j!=i} w_j is the
 * exact sum of all weights minus w_i, rounded once.  Such a sum has no order
 * to depend on, so it needs no sort: revision 2 sorted the terms of every
 * sum (n sorts of n - 1 terms for the centralities alone), which was a tenth
 * of the analysis's time.  An exact sum (e.g. an expansion of
 * non-overlapping doubles, Shewchuk 1997, rounded once at the end) is
 * cheaper.  Every other step (the divisions, the logarithms, the medians,
 * the conversions to float) is as in revision 2.  Results differ from
 * revision 2's by at most the rounding of the sums (an ulp of a double
 * before the conversion to float). */
typedef struct coe_consensus_args {
    uint32_t struct_size;
    uint32_t count;
    const float *similarity; /* count x count                                */
    uint64_t similarity_stride;
    const float *weights;   /* count expert weights, each > 0               */
    const uint32_t *labels; /* count labels from coe.cluster                */
    uint32_t cluster_count;
    float outlier_z;    /* e.g. 3.5                                     */
    float prior_weight; /* >= 0, shrinks confidence of small panels     */
    uint32_t reserved0; /* must be 0                                    */
    /* per expert outputs (count each) */
    float *centrality;
    float *robust_z;
    uint8_t *outlier;
    /* per cluster outputs (cluster_count each) */
    float *cluster_share;
    float *cluster_cohesion;
    uint32_t *cluster_representative;
    /* scalar outputs */
    float mean_agreement;
    float entropy;
    float margin;
    float confidence;
    uint32_t majority_cluster;
    uint32_t medoid;
} coe_consensus_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_CONSENSUS_H */
