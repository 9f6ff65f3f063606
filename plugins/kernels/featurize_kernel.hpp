// featurize_kernel.hpp - coe.featurize/1: texts to hashed n-gram TF-IDF rows.
//
// Integer work (tokenising, hashing, counting) dominates, and its result must
// be bit-identical in every backend, so this code is written once, without
// ISA-specific paths; every floating-point step runs in a fixed order in
// double precision and is rounded to float once at the end.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "kernel_namespace.hpp"
#include "stop_words.hpp"

COE_KERNELS_BEGIN

constexpr std::uint32_t featurize_known_flags = COE_FEATURIZE_BIGRAMS | COE_FEATURIZE_STOP_WORDS |
                                                COE_FEATURIZE_SUBLINEAR_TF | COE_FEATURIZE_IDF |
                                                COE_FEATURIZE_L2_NORMALIZE | COE_FEATURIZE_STEM;

inline std::uint64_t splitmix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

inline bool is_token_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

inline unsigned char fold_ascii(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + ('a' - 'A')) : c;
}

// Light suffix stripping of a folded ASCII token, so that inflections meet:
// retry/retries/retried/retrying -> "retr", charge/charges/charged ->
// "charg", failure/failures -> "failur".  Strips at most one of -ies/-ied,
// -ing, -ed, -es, -s (not -ss/-us/-is), then one final -e or -y; never leaves
// fewer than three letters.  Returns how many bytes of the token to keep.
inline std::size_t stemmed_length(std::string_view t) {
    for (unsigned char c : t)
        if (c >= 0x80) return t.size();  // non-ASCII words are left alone
    std::size_t k = t.size();
    auto ends = [&](std::string_view suffix) {
        return k >= suffix.size() && t.substr(k - suffix.size(), suffix.size()) == suffix;
    };
    if (k > 5 && (ends("ies") || ends("ied")))
        k -= 3;
    else if (k > 5 && ends("ing"))
        k -= 3;
    else if (k > 4 && (ends("ed") || ends("es")))
        k -= 2;
    else if (k > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is"))
        k -= 1;
    if (k > 3 && (t[k - 1] == 'e' || t[k - 1] == 'y')) k -= 1;
    return k;
}

// Appends the bucket of every n-gram of `text` to `buckets` (unsorted).
inline void collect_buckets(const char *text, std::uint64_t length, std::uint32_t flags, std::uint64_t mask,
                            std::string &token, std::vector<std::uint64_t> &token_hashes,
                            std::vector<std::uint32_t> &buckets) {
    token_hashes.clear();
    const auto *p = reinterpret_cast<const unsigned char *>(text);
    std::uint64_t i = 0;
    while (i < length) {
        if (!is_token_byte(p[i])) {
            ++i;
            continue;
        }
        token.clear();
        for (; i < length && is_token_byte(p[i]); ++i) token.push_back(static_cast<char>(fold_ascii(p[i])));
        if (token.size() < 2) continue;
        if ((flags & COE_FEATURIZE_STOP_WORDS) && is_stop_word_hash(fnv1a(token))) continue;
        const std::size_t keep = (flags & COE_FEATURIZE_STEM) ? stemmed_length(token) : token.size();
        token_hashes.push_back(fnv1a(std::string_view(token).substr(0, keep)));
    }
    for (std::size_t t = 0; t < token_hashes.size(); ++t) {
        buckets.push_back(static_cast<std::uint32_t>(splitmix64(token_hashes[t]) & mask));
        if ((flags & COE_FEATURIZE_BIGRAMS) && t + 1 < token_hashes.size())
            buckets.push_back(static_cast<std::uint32_t>(
                splitmix64(token_hashes[t] * 0x9E3779B97F4A7C15ull + token_hashes[t + 1]) & mask));
    }
}

// The distinct values of sorted `v`, and how often each occurs.
inline void count_runs(const std::vector<std::uint32_t> &v, std::vector<std::uint32_t> &values,
                       std::vector<std::uint32_t> &counts) {
    for (std::size_t k = 0; k < v.size();) {
        std::size_t e = k;
        while (e < v.size() && v[e] == v[k]) ++e;
        values.push_back(v[k]);
        counts.push_back(static_cast<std::uint32_t>(e - k));
        k = e;
    }
}

inline void validate_featurize(const coe_featurize_args &a) {
    using sdk::status_error;
    if (a.text_count > 0 && (a.texts == nullptr || a.text_lengths == nullptr))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "texts or text_lengths is null");
    if (a.row_offsets == nullptr)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets is null");
    if (a.bucket_bits < COE_FEATURIZE_MIN_BUCKET_BITS || a.bucket_bits > COE_FEATURIZE_MAX_BUCKET_BITS)
        throw status_error(COE_ERR_INVALID_ARGUMENT,
                           "bucket_bits " + std::to_string(a.bucket_bits) + " is outside 4..24");
    if ((a.flags & ~featurize_known_flags) != 0)
        throw status_error(COE_ERR_UNSUPPORTED, "unknown featurize flags " + std::to_string(a.flags));
    for (std::uint32_t t = 0; t < a.text_count; ++t)
        if (a.texts[t] == nullptr && a.text_lengths[t] != 0)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "text " + std::to_string(t) + " is null");
}

inline coe_status featurize(coe_featurize_args &a) {
    validate_featurize(a);
    const std::uint64_t mask = (std::uint64_t{1} << a.bucket_bits) - 1;

    // 1. per text: sorted (bucket, count) runs
    std::vector<std::vector<std::uint32_t>> rows(a.text_count);
    std::vector<std::vector<std::uint32_t>> counts(a.text_count);
    std::string token;
    std::vector<std::uint64_t> token_hashes;
    std::vector<std::uint32_t> buckets;
    std::uint64_t total = 0;
    for (std::uint32_t t = 0; t < a.text_count; ++t) {
        buckets.clear();
        collect_buckets(a.texts[t], a.text_lengths[t], a.flags, mask, token, token_hashes, buckets);
        std::sort(buckets.begin(), buckets.end());
        count_runs(buckets, rows[t], counts[t]);
        total += rows[t].size();
    }
    a.entry_count = total;
    if (total > a.entry_capacity) {
        throw sdk::status_error(COE_ERR_BUFFER_TOO_SMALL,
                                "featurize needs " + std::to_string(total) + " entries, capacity is " +
                                    std::to_string(a.entry_capacity));
    }
    if (total > 0 && (a.indices == nullptr || a.values == nullptr))
        throw sdk::status_error(COE_ERR_INVALID_ARGUMENT, "indices or values is null");

    // 2. document frequency of each bucket across the texts of this call
    std::vector<std::uint32_t> all_buckets;
    std::vector<std::uint32_t> df;
    if (a.flags & COE_FEATURIZE_IDF) {
        all_buckets.reserve(total);
        for (const auto &r : rows) all_buckets.insert(all_buckets.end(), r.begin(), r.end());
        std::sort(all_buckets.begin(), all_buckets.end());
        std::vector<std::uint32_t> unique;
        count_runs(all_buckets, unique, df);
        all_buckets.swap(unique);
    }

    // 3. weights, in a fixed order, in double; one rounding to float
    const double n = static_cast<double>(a.text_count);
    std::vector<double> w;
    std::uint64_t offset = 0;
    for (std::uint32_t t = 0; t < a.text_count; ++t) {
        a.row_offsets[t] = offset;
        w.assign(rows[t].size(), 0.0);
        double sum_sq = 0.0;
        for (std::size_t k = 0; k < rows[t].size(); ++k) {
            double tf = static_cast<double>(counts[t][k]);
            if (a.flags & COE_FEATURIZE_SUBLINEAR_TF) tf = 1.0 + std::log(tf);
            double idf = 1.0;
            if (a.flags & COE_FEATURIZE_IDF) {
                auto it = std::lower_bound(all_buckets.begin(), all_buckets.end(), rows[t][k]);
                double d = static_cast<double>(df[static_cast<std::size_t>(it - all_buckets.begin())]);
                idf = std::log((1.0 + n) / (1.0 + d)) + 1.0;
            }
            w[k] = tf * idf;
            sum_sq += w[k] * w[k];
        }
        const double scale =
            ((a.flags & COE_FEATURIZE_L2_NORMALIZE) && sum_sq > 0.0) ? 1.0 / std::sqrt(sum_sq) : 1.0;
        for (std::size_t k = 0; k < rows[t].size(); ++k) {
            a.indices[offset + k] = rows[t][k];
            a.values[offset + k] = static_cast<float>(w[k] * scale);
        }
        offset += rows[t].size();
    }
    a.row_offsets[a.text_count] = offset;
    return COE_OK;
}

COE_KERNELS_END
