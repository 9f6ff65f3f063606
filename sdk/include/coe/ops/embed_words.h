/*
 * coe/ops/embed_words.h - the operation "coe.embed_words" of the plugin ABI.
 *
 *   coe.embed_words/1   since ABI 1.3   coe_embed_words_args, coe_word_table
 *                       ABI 1.6 appended coe_word_table.values_id
 *
 * UTF-8 texts to one dense vector each: the weighted sum of the pretrained
 * vectors of the words a text contains, scaled to unit length.  The words'
 * table (vocabulary, weights and vectors) is the caller's; the engine maps
 * it from its word-vector file (docs/analysis.md) and passes it on each call.
 *
 * Included at the end of coe/coe_plugin.h: include that header, which
 * declares the whole ABI.  This one needs only <stddef.h> and <stdint.h> and also compiles
 * on its own.  Operation ids and revisions: sdk/conventions/operation-id.md.
 */
#ifndef COE_OPS_EMBED_WORDS_H
#define COE_OPS_EMBED_WORDS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_OP_EMBED_WORDS "coe.embed_words" /* revision 1: coe_embed_words_args */

/* The words' table, read-only, valid during the call.
 *
 * Vocabulary: an open-addressing hash table of slot_count slots (a power of
 * two).  A word's hash h is coe.featurize/2's token hash of its bytes
 * (coe/ops/featurize.h); its home slot is mix(h) & (slot_count - 1), mix
 * being the splitmix64 finaliser (as for featurize's buckets), and it sits
 * in the first slot from there, wrapping, whose row is free or its own
 * (linear probing).  Slot s is slots[2s] = row + 1 (0: free) and
 * slots[2s + 1] = h >> 32; a probe stops at the first free slot.  A word
 * matches a token when the high 32 bits of their hashes and all their bytes
 * are equal.  At least one slot is free.
 *
 * Row r: its word is words[word_offsets[r] .. word_offsets[r + 1]); its
 * weight is weights[r] (finite, >= 0; 0 drops the word); its vector is the
 * dims IEEE 754 binary16 values values[r * dims .. r * dims + dims).
 *
 * values_id (ABI 1.6; absent in a table whose struct_size ends before it,
 * which reads as 0) names the values' contents for plugins that keep a copy
 * of them between calls, as a device backend keeps the vectors in device
 * memory: two tables with the same nonzero values_id, dims and word_count
 * have the same values bytes, in every call of the process.  0 promises
 * nothing (the copy, if any, is made again for the call).  The engine uses
 * the XXH64 checksum of the word-vector file's payload (docs/word-vectors.md),
 * which covers the values.  The result never depends on it. */
typedef struct coe_word_table {
    uint32_t struct_size;
    uint32_t dims;                /* floats per vector, 1..4096                 */
    uint32_t word_count;          /* rows                                       */
    uint32_t slot_count;          /* power of two, > word_count                 */
    const uint32_t *slots;        /* 2 * slot_count: (row + 1, h >> 32) pairs   */
    const uint32_t *word_offsets; /* word_count + 1 byte offsets into words     */
    const char *words;            /* the words' bytes, folded as tokens are      */
    const float *weights;         /* word_count weights                         */
    const uint16_t *values;       /* word_count * dims binary16 values          */
    uint64_t values_id;           /* ABI 1.6: names the values' bytes; 0: none  */
} coe_word_table;

/* The struct_size of a coe_word_table from before ABI 1.6 (no values_id),
 * which every plugin accepts. */
#define COE_WORD_TABLE_SIZE_1_3 ((uint32_t)(offsetof(coe_word_table, values_id)))

/* coe.embed_words/1 - one unit vector per text.
 *
 * Tokens are those of coe.featurize/2 without stop words or stemming: ASCII
 * letters folded to lower case; a token is a maximal run of ASCII letters,
 * ASCII digits and bytes >= 0x80, at least two bytes long.  For text i, in
 * token order, each token found in the table adds weights[r] * v_r to a
 * float accumulator of dims lanes, lane by lane, as a product rounded to
 * float and then a sum rounded to float (no fused multiply-add); v_r's
 * binary16 values are widened to float exactly.  Then
 *   norm = sqrt(sum over d = 0, 1, ..., dims - 1 of (double)acc[d]^2)
 * summed in double in that order, and out[d] = (float)((double)acc[d] / norm),
 * or 0 in every lane when norm is 0 (no known word, or only weight-0 words).
 * known_words[i] (when the pointer is not NULL) counts the tokens found in
 * the table, weight 0 or not.  The result must be bit-identical in every
 * backend.
 *
 * Output: row i at vectors + i * vector_stride, vector_stride >= table->dims.
 * Returns COE_ERR_INVALID_ARGUMENT when the table's struct_size is below
 * COE_WORD_TABLE_SIZE_1_3, dims is out of range, slot_count is
 * not a power of two above word_count, vector_stride < dims, or a probe
 * meets a slot naming a row >= word_count (the table is not read whole on
 * each call: the caller validates it once, when it maps it). */
typedef struct coe_embed_words_args {
    uint32_t struct_size;
    uint32_t text_count;
    const char *const *texts;     /* text_count UTF-8 strings, not NUL-terminated */
    const uint64_t *text_lengths; /* text_count byte lengths                       */
    const coe_word_table *table;
    uint64_t vector_stride;  /* floats between output rows, >= table->dims      */
    float *vectors;          /* out: text_count rows                            */
    uint32_t *known_words;   /* out, may be NULL: tokens found, per text        */
} coe_embed_words_args;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_OPS_EMBED_WORDS_H */
