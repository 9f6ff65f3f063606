/*
 * coe/ops/featurize.h - the operation "coe.featurize" of the plugin ABI.
 *
 *   coe.featurize/1   since ABI 1.0   coe_featurize_args
 *   coe.featurize/2   since ABI 1.2   coe_featurize_args (the same struct)
 *
 * UTF-8 texts to hashed n-gram feature vectors (CSR).  Both revisions are
 * specified below and both are served: a plugin may provide either or both.
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_FEATURIZE_H
#define COE_OPS_FEATURIZE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_FEATURIZE "coe.featurize" /* revisions 1, 2: coe_featurize_args */

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
#define COE_FEATURIZE_BIGRAMS (1u << 0)
#define COE_FEATURIZE_STOP_WORDS (1u << 1)
#define COE_FEATURIZE_SUBLINEAR_TF (1u << 2)
#define COE_FEATURIZE_IDF (1u << 3)
#define COE_FEATURIZE_L2_NORMALIZE (1u << 4)
#define COE_FEATURIZE_STEM (1u << 5)
#define COE_FEATURIZE_MIN_BUCKET_BITS 4u
#define COE_FEATURIZE_MAX_BUCKET_BITS 24u

typedef struct coe_featurize_args {
    uint32_t struct_size;
    uint32_t text_count;
    const char *const *texts;     /* text_count UTF-8 strings, not NUL-terminated */
    const uint64_t *text_lengths; /* text_count byte lengths                       */
    uint32_t bucket_bits;         /* buckets = 2^bucket_bits, 4..24                */
    uint32_t flags;               /* COE_FEATURIZE_*                               */
    uint64_t entry_capacity;      /* entries available in indices and values       */
    uint64_t *row_offsets;        /* out: text_count + 1 offsets                   */
    uint32_t *indices;            /* out: bucket of each entry                     */
    float *values;                /* out: weight of each entry                     */
    uint64_t entry_count;         /* out: entries written (or needed)              */
} coe_featurize_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_FEATURIZE_H */
