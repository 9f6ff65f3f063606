/*
 * coe_plugin.h - the stable C ABI between the Circle of Experts engine (the
 * host) and its backend plugins.  C99, no dependencies beyond <stdint.h>.
 *
 * A plugin is a shared library that carries two things:
 *
 *   1. A manifest (coe_plugin_manifest) in the ELF section ".coe_manifest".
 *      The host reads it from the file WITHOUT loading the library, so it can
 *      reject a plugin whose ABI major or CPU requirements do not fit before
 *      any of the plugin's code (static initialisers included) runs.
 *      Declare it with COE_PLUGIN_MANIFEST(...).
 *   2. One exported function, COE_PLUGIN_ENTRY_SYMBOL, returning the plugin
 *      descriptor.  Every other symbol must be hidden.
 *
 * Versioning.  The ABI major must equal the host's; the minor is additive.
 * Every struct that crosses the boundary starts with uint32_t struct_size, so
 * each side can tell which fields the other one knows: a reader never touches
 * a field that lies beyond struct_size, and fills unknown trailing fields with
 * their documented defaults.  Structs and enumerations are append-only:
 * fields and values are never reordered, resized or removed.
 *
 * Memory.  The caller owns every buffer it passes.  A plugin writes results
 * only into caller-allocated outputs and frees whatever it allocates itself
 * before returning.  Strings and tables a descriptor points to are static:
 * they stay valid until the library is unloaded, and the host never unloads
 * a plugin that may still run.
 *
 * Errors.  Every operation returns a coe_status.  On failure it may copy a
 * NUL-terminated message into coe_call.error_message (host memory).  No C++
 * exception, STL type or RTTI crosses the boundary.
 *
 * Threading.  The descriptor's thread_safety says whether the host may call
 * operations concurrently (COE_THREAD_SAFETY_REENTRANT) or must serialise
 * them (COE_THREAD_SAFETY_SERIALIZED).
 */
#ifndef COE_PLUGIN_H
#define COE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define COE_ABI_MAJOR 1u
#define COE_ABI_MINOR 2u
/* History (append-only):
 *   1.0  first release
 *   1.1  coe_operation.flags (COE_OPERATION_OWN_ALGORITHM)
 *   1.2  coe.featurize/2: a tokeniser and token hash designed for vectors
 *        (same argument struct; /1 is still specified and served) */

/* Name of the one exported function of a plugin. */
#define COE_PLUGIN_ENTRY_SYMBOL "coe_plugin_entry"

/* ----------------------------------------------------------------- status */

typedef int32_t coe_status;
#define COE_OK                      0  /* success                                  */
#define COE_ERR_INVALID_ARGUMENT    1  /* a field of the arguments is out of range */
#define COE_ERR_BUFFER_TOO_SMALL    2  /* an output buffer is too small; the
                                          operation reports the size it needs     */
#define COE_ERR_UNSUPPORTED         3  /* a flag or kind this plugin cannot do     */
#define COE_ERR_OUT_OF_MEMORY       4  /* scratch allocation failed                */
#define COE_ERR_INTERNAL            5  /* anything else; see the message           */

/* ------------------------------------------------------------ cpu features */

/* Bits of a uint64_t CPU feature mask.  A feature counts as present only if
 * the CPU reports it AND the operating system saves the registers it needs
 * (XCR0), so an AVX-512 CPU under an OS without AVX-512 state support has none
 * of the COE_CPU_AVX512* bits. */
#define COE_CPU_SSE2        (UINT64_C(1) << 0)
#define COE_CPU_SSE3        (UINT64_C(1) << 1)
#define COE_CPU_SSSE3       (UINT64_C(1) << 2)
#define COE_CPU_SSE41       (UINT64_C(1) << 3)
#define COE_CPU_SSE42       (UINT64_C(1) << 4)
#define COE_CPU_POPCNT      (UINT64_C(1) << 5)
#define COE_CPU_AVX         (UINT64_C(1) << 6)
#define COE_CPU_AVX2        (UINT64_C(1) << 7)
#define COE_CPU_FMA         (UINT64_C(1) << 8)
#define COE_CPU_BMI1        (UINT64_C(1) << 9)
#define COE_CPU_BMI2        (UINT64_C(1) << 10)
#define COE_CPU_F16C        (UINT64_C(1) << 11)
#define COE_CPU_AVX512F     (UINT64_C(1) << 12)
#define COE_CPU_AVX512CD    (UINT64_C(1) << 13)
#define COE_CPU_AVX512DQ    (UINT64_C(1) << 14)
#define COE_CPU_AVX512BW    (UINT64_C(1) << 15)
#define COE_CPU_AVX512VL    (UINT64_C(1) << 16)
#define COE_CPU_AVX512VNNI  (UINT64_C(1) << 17)
#define COE_CPU_AVX512FP16  (UINT64_C(1) << 18)
#define COE_CPU_NEON        (UINT64_C(1) << 32)
/* Never set by any CPU; lets tests build a plugin no machine can run. */
#define COE_CPU_RESERVED_NEVER (UINT64_C(1) << 63)

/* ------------------------------------------------------------- call frame */

/* Passed by the host to every operation. */
typedef struct coe_call {
    uint32_t struct_size;     /* sizeof(coe_call) as the host knows it        */
    uint32_t error_capacity;  /* bytes available at error_message (0: none)   */
    char *error_message;      /* host-owned; the plugin writes a NUL-terminated
                                 message here on failure, truncating to fit   */
} coe_call;

/* Every operation has this signature.  `args` points to the operation's own
 * argument struct (inputs and caller-owned outputs), which starts with
 * uint32_t struct_size. */
typedef coe_status (*coe_operation_fn)(void *args, const coe_call *call);

/* ------------------------------------------------------------- operations */

/* An operation is named by a string id and a revision.  A revision changes
 * when the argument struct changes incompatibly or the specified results
 * change; the host asks for the revision it speaks.  Adding an operation or
 * a revision never breaks a plugin: a plugin that provides only an older
 * revision keeps being called with it. */
#define COE_OP_FEATURIZE   "coe.featurize"   /* revisions 1, 2: coe_featurize_args */
#define COE_OP_SIMILARITY  "coe.similarity"  /* revision 1: coe_similarity_args */
#define COE_OP_CLUSTER     "coe.cluster"     /* revision 1: coe_cluster_args    */
#define COE_OP_CONSENSUS   "coe.consensus"   /* revision 1: coe_consensus_args  */
#define COE_OP_AGGREGATE   "coe.aggregate"   /* revision 1: coe_aggregate_args  */

/* coe.featurize/1 - UTF-8 texts to hashed n-gram feature vectors (CSR).
 *
 * Tokenisation: ASCII letters are folded to lower case; a token is a maximal
 * run of ASCII letters, ASCII digits and bytes >= 0x80 (non-ASCII UTF-8),
 * at least two bytes long.  With COE_FEATURIZE_STOP_WORDS, English stop words
 * are dropped before n-grams are formed.  With COE_FEATURIZE_STEM, an ASCII
 * token loses at most one of the suffixes -ies/-ied, -ing, -ed, -es, -s (not
 * -ss/-us/-is), then one final -e or -y, never going below three letters
 * (retry/retries/retried -> "retr").  Each token is hashed with 64-bit
 * FNV-1a over its folded bytes; a unigram's bucket is mix(h) mod
 * 2^bucket_bits and, with COE_FEATURIZE_BIGRAMS, an adjacent pair's bucket is
 * mix(h1 * 0x9E3779B97F4A7C15 + h2) mod 2^bucket_bits, where mix is the
 * splitmix64 finaliser.  Weights: term count, or 1 + ln(count) with
 * COE_FEATURIZE_SUBLINEAR_TF; times the smoothed inverse document frequency
 * ln((1 + n) / (1 + df)) + 1 across the texts of this call with
 * COE_FEATURIZE_IDF; each row scaled to unit L2 norm with
 * COE_FEATURIZE_L2_NORMALIZE.  The result must be bit-identical in every
 * backend.
 *
 * coe.featurize/2 (ABI 1.2) - the same arguments, flags and weighting; only
 * tokens are hashed differently, so that a backend can classify, fold and
 * split whole vectors of bytes and hash a token eight bytes per step.  The
 * token bytes, folding, minimum length, stop-word list and stemming are those
 * of revision 1.  A token of n folded bytes (after stemming) is hashed as
 *   h = 0x9E3779B97F4A7C15 ^ (n * 0xC2B2AE3D27D4EB4F)
 *   for each 8-byte block w (little-endian; the last one zero-filled):
 *       h = (h ^ w) * 0xBF58476D1CE4E5B9;  h ^= h >> 31
 * and a stop word is recognised by this hash of the whole token.  Buckets
 * (mix, bigram pairing, mod 2^bucket_bits) are those of revision 1.  Results
 * must be bit-identical in every backend; they differ from revision 1's.
 *
 * Output: row i occupies entries [row_offsets[i], row_offsets[i+1]) of
 * indices/values, with strictly increasing indices.  entry_capacity entries
 * are available; sum(text_lengths) + text_count always suffices.  If the
 * buffers are too small the operation returns COE_ERR_BUFFER_TOO_SMALL and
 * sets entry_count to the number needed. */
#define COE_FEATURIZE_BIGRAMS       (1u << 0)
#define COE_FEATURIZE_STOP_WORDS    (1u << 1)
#define COE_FEATURIZE_SUBLINEAR_TF  (1u << 2)
#define COE_FEATURIZE_IDF           (1u << 3)
#define COE_FEATURIZE_L2_NORMALIZE  (1u << 4)
#define COE_FEATURIZE_STEM          (1u << 5)
#define COE_FEATURIZE_MIN_BUCKET_BITS 4u
#define COE_FEATURIZE_MAX_BUCKET_BITS 24u

typedef struct coe_featurize_args {
    uint32_t struct_size;
    uint32_t text_count;
    const char *const *texts;       /* text_count UTF-8 strings, not NUL-terminated */
    const uint64_t *text_lengths;   /* text_count byte lengths                       */
    uint32_t bucket_bits;           /* buckets = 2^bucket_bits, 4..24                */
    uint32_t flags;                 /* COE_FEATURIZE_*                               */
    uint64_t entry_capacity;        /* entries available in indices and values       */
    uint64_t *row_offsets;          /* out: text_count + 1 offsets                   */
    uint32_t *indices;              /* out: bucket of each entry                     */
    float *values;                  /* out: weight of each entry                     */
    uint64_t entry_count;           /* out: entries written (or needed)              */
} coe_featurize_args;

/* coe.similarity/1 - cosine similarity matrix of `count` vectors.
 *
 * out[i * out_stride + j] = dot(v_i, v_j) / (|v_i| |v_j|), clamped to
 * [-1, 1]; the matrix is symmetric with 1 on the diagonal.  A zero vector has
 * similarity 0 to every other vector (and 1 to itself).  Backends may differ
 * only by summation order (within 1e-5). */
#define COE_VECTORS_DENSE   1u  /* count rows of `dimension` floats             */
#define COE_VECTORS_SPARSE  2u  /* CSR rows as produced by coe.featurize        */

typedef struct coe_similarity_args {
    uint32_t struct_size;
    uint32_t kind;                  /* COE_VECTORS_DENSE or COE_VECTORS_SPARSE      */
    uint32_t count;                 /* number of vectors                            */
    uint32_t reserved0;             /* must be 0                                    */
    /* dense input */
    const float *dense;             /* row i at dense + i * dense_stride            */
    uint64_t dimension;             /* floats per vector (any value >= 1)           */
    uint64_t dense_stride;          /* floats between rows, >= dimension            */
    /* sparse input */
    const uint64_t *row_offsets;    /* count + 1 offsets                            */
    const uint32_t *indices;        /* strictly increasing within a row             */
    const float *values;
    uint32_t index_bound;           /* every index < index_bound (2^bucket_bits)    */
    uint32_t reserved1;             /* must be 0                                    */
    /* output */
    float *out;                     /* count rows of out_stride floats, caller-owned */
    uint64_t out_stride;            /* >= count                                     */
} coe_similarity_args;

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
    const float *similarity;        /* count x count, symmetric                     */
    uint64_t similarity_stride;     /* floats between rows, >= count                */
    uint32_t method;                /* COE_CLUSTER_AVERAGE_LINKAGE                  */
    float threshold;                /* merge while the best average >= threshold    */
    uint32_t *labels;               /* out: count labels                            */
    uint32_t cluster_count;         /* out                                          */
    uint32_t reserved0;             /* must be 0                                    */
} coe_cluster_args;

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
 * Arithmetic is in double in a fixed order; results are rounded to float. */
typedef struct coe_consensus_args {
    uint32_t struct_size;
    uint32_t count;
    const float *similarity;        /* count x count                                */
    uint64_t similarity_stride;
    const float *weights;           /* count expert weights, each > 0               */
    const uint32_t *labels;         /* count labels from coe.cluster                */
    uint32_t cluster_count;
    float outlier_z;                /* e.g. 3.5                                     */
    float prior_weight;             /* >= 0, shrinks confidence of small panels     */
    uint32_t reserved0;             /* must be 0                                    */
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
 * item index.  Arithmetic is in double in a fixed order. */
typedef struct coe_aggregate_args {
    uint32_t struct_size;
    uint32_t item_count;
    uint32_t expert_count;
    uint32_t group_count;
    const uint32_t *item_group;     /* item_count groups < group_count              */
    const uint32_t *item_expert;    /* item_count experts < expert_count            */
    const float *similarity;        /* item_count x item_count                      */
    uint64_t similarity_stride;
    const float *expert_weights;    /* expert_count weights, each > 0               */
    uint32_t quorum;                /* supporters needed for consensus              */
    float prior_weight;             /* >= 0                                         */
    /* per group outputs (group_count each) */
    uint32_t *supporters;
    float *support;
    float *confidence;
    uint32_t *representative;
    uint8_t *consensus;
    uint32_t *ranking;              /* group_count group numbers, best first        */
} coe_aggregate_args;

/* coe_operation.flags (ABI 1.1; a 1.0 operation, whose struct_size ends
 * before `flags`, has none of them). */
/* The operation computes its stage with an algorithm of its own (say,
 * MinHash/Jaccard instead of TF-IDF cosine): its results are checked for
 * validity but never compared with the scalar reference (no shadow checks,
 * and `coe plugin check` compares shapes, not numbers). */
#define COE_OPERATION_OWN_ALGORITHM (1u << 0)

typedef struct coe_operation {
    uint32_t struct_size;
    uint32_t revision;
    const char *id;                 /* e.g. COE_OP_SIMILARITY                       */
    coe_operation_fn invoke;
    /* ABI 1.1 */
    uint32_t flags;                 /* COE_OPERATION_*                              */
    uint32_t reserved0;             /* must be 0                                    */
} coe_operation;

/* ------------------------------------------------------------- descriptor */

#define COE_THREAD_SAFETY_SERIALIZED 0u  /* host serialises every call        */
#define COE_THREAD_SAFETY_REENTRANT  1u  /* any call from any thread, at once */

typedef struct coe_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major;                  /* COE_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;
    const char *id;                      /* unique, e.g. "coe.backend.avx2"         */
    const char *name;                    /* short, e.g. "avx2"; used to select it   */
    const char *version;                 /* the plugin's own version, e.g. "1.0.0"  */
    const char *description;             /* one line for people                     */
    uint64_t required_cpu_features;      /* COE_CPU_* mask; equals the manifest's   */
    uint32_t thread_safety;              /* COE_THREAD_SAFETY_*                     */
    uint32_t operation_count;
    const coe_operation *const *operations; /* operation_count pointers           */
} coe_plugin_descriptor;

/* The entry point.  Receives the host's ABI version and returns the plugin's
 * static descriptor (valid until unload), or NULL to refuse the host.  It must
 * not do anything expensive and must not throw. */
typedef const coe_plugin_descriptor *(*coe_plugin_entry_fn)(uint16_t host_abi_major,
                                                             uint16_t host_abi_minor);

/* Marks the entry function as the plugin's one exported symbol. */
#if defined(__GNUC__) || defined(__clang__)
#define COE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define COE_PLUGIN_EXPORT
#endif

/* --------------------------------------------------------------- manifest */

#define COE_MANIFEST_SECTION ".coe_manifest"
#define COE_MANIFEST_MAGIC   "COEPLUG"   /* 7 characters + NUL */

/* Plain data the host reads from the file without loading it. */
typedef struct coe_plugin_manifest {
    char magic[8];                       /* COE_MANIFEST_MAGIC                 */
    uint32_t struct_size;                /* sizeof(coe_plugin_manifest)        */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint64_t required_cpu_features;      /* COE_CPU_* mask                     */
    char id[64];                         /* NUL-terminated, as the descriptor  */
    char name[32];
    char version[24];
} coe_plugin_manifest;

#if defined(__GNUC__) || defined(__clang__)
#define COE_MANIFEST_ATTRIBUTES __attribute__((section(COE_MANIFEST_SECTION), used, aligned(8)))
#else
#error "coe plugins need a compiler that can place data in a named section"
#endif

/* Declares the plugin's manifest.  Use once per plugin, at file scope. */
#define COE_PLUGIN_MANIFEST(id_, name_, version_, cpu_features_)                 \
    COE_MANIFEST_ATTRIBUTES const coe_plugin_manifest coe_plugin_manifest_data = { \
        COE_MANIFEST_MAGIC, (uint32_t)sizeof(coe_plugin_manifest),              \
        (uint16_t)COE_ABI_MAJOR, (uint16_t)COE_ABI_MINOR, (cpu_features_),       \
        id_, name_, version_ }

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_PLUGIN_H */
