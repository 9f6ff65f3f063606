// tfidf_rows.hpp - from the token hashes of each text to coe.featurize's CSR
// rows: n-gram buckets, counting by a stable radix sort on the bucket (no
// comparison sort, no table of 2^bucket_bits entries), document frequencies
// from the same sorted runs, and the weights in a fixed order in double.
// Shared by every revision and backend: integer work plus the exact same
// floating-point operations, so rows are bit-identical everywhere.
#pragma once

#include <array>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "radix_sort.hpp"
#include "thread_scratch.hpp"
#include "token_hash.hpp"

COE_KERNELS_BEGIN

// Scratch reused from call to call (grows to the largest call, never shrinks;
// the scratch_vectors are written before they are read).
struct TfidfScratch {
    scratch_vector<std::uint64_t> ngrams, sorted;  // (bucket << 32) | text, in text order
    std::vector<std::size_t> cursor;               // per text: its next entry
    scratch_vector<std::uint64_t> distinct;        // the distinct keys, in order
    scratch_vector<std::size_t> first, run_of;     // per distinct key: its first position, its bucket's run
    scratch_vector<std::size_t> run_start;         // per run of one bucket: its first distinct key
    std::vector<double> row_sum_sq, idf;
    scratch_vector<double> weights;
    std::array<double, 64> tf{};  // 1 + ln(count) of small counts, computed once per call
};

// Receives one text's token hashes in order and appends the buckets of its
// unigrams and (with bigrams) adjacent pairs, tagged with the text.
struct NgramSink {
    scratch_vector<std::uint64_t> &ngrams;
    std::uint64_t text;
    std::uint64_t mask;
    bool bigrams;
    bool has_previous = false;
    std::uint64_t previous = 0;

    void operator()(std::uint64_t h) {
        ngrams.push_back(static_cast<std::uint64_t>(unigram_bucket(h, mask)) << 32 | text);
        if (bigrams && has_previous)
            ngrams.push_back(static_cast<std::uint64_t>(bigram_bucket(previous, h, mask)) << 32 | text);
        previous = h;
        has_previous = true;
    }
};

// Appends the buckets of one text's unigrams and (with bigrams) adjacent
// pairs, from its kept token hashes h[0..count), tagged with the text: all
// unigrams first, then all pairs (write_tfidf_rows counts equal keys of a
// text wherever they sit, so the order inside a text changes no row).
// `Vector`: eight hashes per step in vector lanes (the 64-bit multiplies of
// the finaliser; GCC and Clang lower the vector type to the target's widest
// registers); the same integer operations, so the same buckets.
template <bool Vector>
inline void append_ngrams(const std::uint64_t *h, std::size_t count, std::uint64_t text, std::uint64_t mask,
                          bool bigrams, scratch_vector<std::uint64_t> &ngrams) {
    const std::size_t pairs = bigrams && count > 1 ? count - 1 : 0, base = ngrams.size();
    ngrams.resize(base + count + pairs);
    std::uint64_t *const unigrams = ngrams.data() + base, *const pair_out = unigrams + count;
    std::size_t i = 0, j = 0;
    if constexpr (Vector) {
        using lanes = std::uint64_t __attribute__((vector_size(64)));
        constexpr std::size_t width = sizeof(lanes) / sizeof(std::uint64_t);
        // in place, by reference: a vector type passed or returned by value
        // would change the calling convention where the target lacks it
        auto mix = [](lanes &x) {
            x ^= x >> 30;
            x *= 0xbf58476d1ce4e5b9ull;
            x ^= x >> 27;
            x *= 0x94d049bb133111ebull;
            x ^= x >> 31;
        };
        for (; i + width <= count; i += width) {
            lanes x;
            std::memcpy(&x, h + i, sizeof x);
            mix(x);
            x = (x & mask) << 32 | text;
            std::memcpy(unigrams + i, &x, sizeof x);
        }
        for (; j + width <= pairs; j += width) {
            lanes x, next;
            std::memcpy(&x, h + j, sizeof x);
            std::memcpy(&next, h + j + 1, sizeof next);
            x = x * 0x9E3779B97F4A7C15ull + next;
            mix(x);
            x = (x & mask) << 32 | text;
            std::memcpy(pair_out + j, &x, sizeof x);
        }
    }
    for (; i < count; ++i) unigrams[i] = static_cast<std::uint64_t>(unigram_bucket(h[i], mask)) << 32 | text;
    for (; j < pairs; ++j) pair_out[j] = static_cast<std::uint64_t>(bigram_bucket(h[j], h[j + 1], mask)) << 32 | text;
}

// Writes the rows of `text_count` texts whose n-grams are in s.ngrams.
inline void write_tfidf_rows(coe_featurize_args &a, TfidfScratch &s) {
    const std::uint32_t n = a.text_count;
    if (s.ngrams.size() > UINT32_MAX)  // the sort's counts are 32-bit
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "more than 2^32 - 1 n-grams in one call");
    radix_sort_high32(s.ngrams, s.sorted, a.bucket_bits);
    const scratch_vector<std::uint64_t> &keys = s.ngrams;
    const std::size_t key_count = keys.size();

    // 1. one pass over the sorted keys: the distinct (bucket, text) keys, the
    //    first position of each (its count is the gap to the next), which
    //    run of equal buckets each belongs to, and the entries of each row.
    //    Written without branches (whether a key repeats is a coin toss):
    //    every step writes the next free slot and moves on only when the key
    //    is new, so a repeated key's write is overwritten by the next new one.
    s.distinct.resize(key_count + 1);
    s.first.resize(key_count + 1);
    s.run_of.resize(key_count + 1);
    s.run_start.resize(key_count + 1);
    s.cursor.assign(static_cast<std::size_t>(n) + 1, 0);
    std::size_t distinct = 0, runs = 0;
    if (key_count > 0) {
        s.distinct[0] = keys[0];
        s.first[0] = 0;
        s.run_of[0] = 0;
        s.run_start[0] = 0;
        s.cursor[static_cast<std::uint32_t>(keys[0]) + 1] = 1;
        distinct = runs = 1;
    }
    for (std::size_t k = 1; k < key_count; ++k) {
        const std::uint64_t key = keys[k], previous = keys[k - 1];
        const std::size_t new_key = key != previous, new_bucket = (key >> 32) != (previous >> 32);
        s.distinct[distinct] = key;
        s.first[distinct] = k;
        s.run_start[runs] = distinct;
        s.cursor[static_cast<std::uint32_t>(key) + 1] += new_key;
        distinct += new_key;
        runs += new_bucket;
        s.run_of[distinct - 1] = runs - 1;
    }
    s.first[distinct] = key_count;
    s.run_start[runs] = distinct;
    std::size_t total = 0;
    for (std::uint32_t t = 0; t <= n; ++t) {
        total += s.cursor[t];
        s.cursor[t] = total;
    }
    a.entry_count = total;
    if (total > a.entry_capacity)
        throw sdk::status_error(
            COE_ERR_BUFFER_TOO_SMALL,
            "featurize needs " + std::to_string(total) + " entries, capacity is " + std::to_string(a.entry_capacity));
    if (total > 0 && (a.indices == nullptr || a.values == nullptr))
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "indices or values is null");
    for (std::uint32_t t = 0; t <= n; ++t) a.row_offsets[t] = s.cursor[t];

    // 2. weights, bucket by bucket in increasing order: each row receives its
    //    entries (and its sum of squares its terms) in increasing bucket order
    const double texts = static_cast<double>(n);
    s.idf.assign(static_cast<std::size_t>(n) + 1, -1.0);  // by document frequency, computed once
    s.tf.fill(-1.0);
    s.row_sum_sq.assign(n, 0.0);
    s.weights.resize(total);
    const bool use_idf = (a.flags & COE_FEATURIZE_IDF) != 0, sublinear = (a.flags & COE_FEATURIZE_SUBLINEAR_TF) != 0;
    for (std::size_t e = 0; e < distinct; ++e) {
        const std::size_t run = s.run_of[e];
        const std::size_t df = s.run_start[run + 1] - s.run_start[run];  // the texts that hold the bucket
        double idf = 1.0;
        if (use_idf) {
            if (s.idf[df] < 0) s.idf[df] = std::log((1.0 + texts) / (1.0 + static_cast<double>(df))) + 1.0;
            idf = s.idf[df];
        }
        const std::size_t count = s.first[e + 1] - s.first[e];
        double tf = static_cast<double>(count);
        if (sublinear) {
            if (count >= s.tf.size()) tf = 1.0 + std::log(tf);
            else if (s.tf[count] >= 0) tf = s.tf[count];
            else tf = s.tf[count] = 1.0 + std::log(tf);
        }
        const double w = tf * idf;
        const std::uint64_t key = s.distinct[e];
        const auto t = static_cast<std::uint32_t>(key);
        const std::size_t at = s.cursor[t]++;
        a.indices[at] = static_cast<std::uint32_t>(key >> 32);
        s.weights[at] = w;
        s.row_sum_sq[t] += w * w;
    }

    // 3. one rounding to float per entry
    //    (step 2 left each text's cursor at the end of its row)
    std::size_t begin = 0;
    for (std::uint32_t t = 0; t < n; ++t) {
        const double sum_sq = s.row_sum_sq[t];
        const double scale = ((a.flags & COE_FEATURIZE_L2_NORMALIZE) && sum_sq > 0.0) ? 1.0 / std::sqrt(sum_sq) : 1.0;
        const std::size_t end = s.cursor[t];
        for (std::size_t k = begin; k < end; ++k) a.values[k] = static_cast<float>(s.weights[k] * scale);
        begin = end;
    }
}

COE_KERNELS_END
