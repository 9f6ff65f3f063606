// featurize_kernel.hpp - coe.featurize/1 and /2: texts to hashed n-gram
// TF-IDF rows.
//
// The two revisions differ only in how tokens are found and hashed
// (text_tokens.hpp); counting and weighting are shared (tfidf_rows.hpp).
// Results must be bit-identical in every backend: integer work decides
// everything, and every floating-point step runs in a fixed order in double
// precision, rounded to float once at the end.  Scratch memory is kept per
// thread and reused, so a steady stream of calls allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kept_token_hashes.hpp"
#include "kernel_namespace.hpp"
#include "memory_count.hpp"
#include "tfidf_rows.hpp"
#include "thread_scratch.hpp"

COE_KERNELS_BEGIN

constexpr std::uint32_t featurize_known_flags = COE_FEATURIZE_BIGRAMS | COE_FEATURIZE_STOP_WORDS |
                                                COE_FEATURIZE_SUBLINEAR_TF | COE_FEATURIZE_IDF |
                                                COE_FEATURIZE_L2_NORMALIZE | COE_FEATURIZE_STEM;

inline void validate_featurize(const coe_featurize_args &a) {
    using sdk::status_error;
    if (a.text_count > 0 && (a.texts == nullptr || a.text_lengths == nullptr))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "texts or text_lengths is null");
    if (a.row_offsets == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets is null");
    if (a.bucket_bits < COE_FEATURIZE_MIN_BUCKET_BITS || a.bucket_bits > COE_FEATURIZE_MAX_BUCKET_BITS)
        throw status_error(COE_ERR_INVALID_ARGUMENT,
                           "bucket_bits " + std::to_string(a.bucket_bits) + " is outside 4..24");
    if ((a.flags & ~featurize_known_flags) != 0)
        throw status_error(COE_ERR_UNSUPPORTED, "unknown featurize flags " + std::to_string(a.flags));
    for (std::uint32_t t = 0; t < a.text_count; ++t)
        if (a.texts[t] == nullptr && a.text_lengths[t] != 0)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "text " + std::to_string(t) + " is null");
}

struct FeaturizeScratch {
    std::vector<unsigned char> folded;  // revision 1: the current text, folded
    TokenScratch tokens;                // revision 2: the tokeniser's scratch
    std::vector<std::uint64_t> hashes;  // revision 2: the current text's kept token hashes
    TfidfScratch tfidf;
};

inline FeaturizeScratch &featurize_scratch() {
    thread_local FeaturizeScratch scratch;
    return thread_scratch(scratch);
}

// Revision: 1 (FNV-1a, byte at a time) or 2 (block hash, 64-byte masks;
// each text's kept token hashes are gathered first, then turned into n-gram
// buckets in one pass).  Vector: revision 2 classifies bytes and mixes
// buckets with the backend's vector unit, and with AVX2 or AVX-512 hashes
// four or eight tokens per step (kept_token_hashes.hpp).
template <unsigned Revision, bool Vector = false>
coe_status featurize(coe_featurize_args &a) {
    validate_featurize(a);
    FeaturizeScratch &s = featurize_scratch();
    const std::uint64_t mask = (std::uint64_t{1} << a.bucket_bits) - 1;
    s.tfidf.ngrams.clear();
    const bool bigrams = (a.flags & COE_FEATURIZE_BIGRAMS) != 0;
    for (std::uint32_t t = 0; t < a.text_count; ++t) {
        const auto *text = reinterpret_cast<const unsigned char *>(a.texts[t]);
        if constexpr (Revision == 1) {
            if (s.folded.size() < a.text_lengths[t]) s.folded.resize(memory_count(a.text_lengths[t], "text length"));
            tokens_fnv1a(text, a.text_lengths[t], a.flags, s.folded.data(),
                         NgramSink{s.tfidf.ngrams, t, mask, bigrams});
        } else {
            const std::size_t kept = kept_token_hashes<Vector>(text, a.text_lengths[t], a.flags, s.tokens, s.hashes);
            append_ngrams<Vector>(s.hashes.data(), kept, t, mask, bigrams, s.tfidf.ngrams);
        }
    }
    write_tfidf_rows(a, s.tfidf);
    return COE_OK;
}

COE_KERNELS_END
