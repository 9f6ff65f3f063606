/*
 * coe/ops/similarity.h - the operation "coe.similarity" of the plugin ABI.
 *
 *   coe.similarity/1   since ABI 1.0   coe_similarity_args
 *   coe.similarity/2   since ABI 1.4   coe_similarity_args (the same struct)
 *
 * Cosine similarity matrix of dense vectors or of CSR rows from
 * coe.featurize.  Both revisions are specified below and both are served.
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_SIMILARITY_H
#define COE_OPS_SIMILARITY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_SIMILARITY "coe.similarity" /* revisions 1, 2: coe_similarity_args */

/* coe.similarity/1 - cosine similarity matrix of `count` vectors.
 *
 * out[i * out_stride + j] = dot(v_i, v_j) / (|v_i| |v_j|), clamped to
 * [-1, 1]; the matrix is symmetric with 1 on the diagonal.  A zero vector has
 * similarity 0 to every other vector (and 1 to itself).  Backends may differ
 * only by summation order (within 1e-5).
 *
 * coe.similarity/2 (ABI 1.4) - the same arguments and the same sparse
 * results; dense results are specified bit for bit, so that what is built on
 * them (clusters, medoids, merged items) is the same on every backend:
 *   1. A row whose largest magnitude m is above 2^50, or below 2^-50 and not
 *      0, is first multiplied by 2^-e, e = floor(log2(m)) (exact).
 *   2. dot(u, v) over the dimension's terms k = 0..d-1, in float (IEEE 754
 *      binary32, round to nearest even, no flush of subnormals): sixteen
 *      partial sums p[0..15] start at +0; in increasing k,
 *      p[k mod 16] = p[k mod 16] + (u[k] * v[k]), the product rounded to
 *      float before the add (never a fused multiply-add).  Then the halves
 *      are folded: p[l] = p[l] + p[l + 8] for l < 8, then p[l] + p[l + 4]
 *      for l < 4, p[l] + p[l + 2] for l < 2, and dot = p[0] + p[1].
 *   3. |v| = sqrt(dot(v, v)), correctly rounded.
 *   4. out = dot(v_i, v_j) / (|v_i| * |v_j|), the product rounded first,
 *      clamped to [-1, 1]; 0 when either norm is 0; a zero is written as +0.
 * A 16-float vector register, or two of 8, holds the partial sums of one
 * pair as they are, so SIMD backends compute exactly this.  Results differ
 * from revision 1's only where revision 1's backend summed differently. */
#define COE_VECTORS_DENSE 1u  /* count rows of `dimension` floats             */
#define COE_VECTORS_SPARSE 2u /* CSR rows as produced by coe.featurize        */

typedef struct coe_similarity_args {
    uint32_t struct_size;
    uint32_t kind;      /* COE_VECTORS_DENSE or COE_VECTORS_SPARSE      */
    uint32_t count;     /* number of vectors                            */
    uint32_t reserved0; /* must be 0                                    */
    /* dense input */
    const float *dense;    /* row i at dense + i * dense_stride            */
    uint64_t dimension;    /* floats per vector (any value >= 1)           */
    uint64_t dense_stride; /* floats between rows, >= dimension            */
    /* sparse input */
    const uint64_t *row_offsets; /* count + 1 offsets                            */
    const uint32_t *indices;     /* strictly increasing within a row             */
    const float *values;
    uint32_t index_bound; /* every index < index_bound (2^bucket_bits)    */
    uint32_t reserved1;   /* must be 0                                    */
    /* output */
    float *out;          /* count rows of out_stride floats, caller-owned */
    uint64_t out_stride; /* >= count                                     */
} coe_similarity_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_SIMILARITY_H */
