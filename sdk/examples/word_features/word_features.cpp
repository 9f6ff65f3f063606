// An example user plugin that replaces the featurizer and provides it at
// revision 1 only: a plugin written before coe.featurize/2 existed keeps
// working, because the engine calls each plugin at the newest revision it
// provides.  Its features are plain word counts: lower-cased runs of ASCII
// letters and digits, hashed (FNV-1a) into 2^bucket_bits buckets, each row
// scaled to unit length.  Not the reference's TF-IDF, so the operation
// declares COE_OPERATION_OWN_ALGORITHM (checked for validity, never compared
// with the scalar backend).  Every other stage comes from the engine.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"

namespace {

using coe::sdk::status_error;

bool word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Sorted (bucket, count) pairs of one text.
std::vector<std::pair<std::uint32_t, std::uint32_t>> word_counts(const char *text, std::uint64_t length,
                                                                 std::uint32_t mask) {
    std::vector<std::uint32_t> buckets;
    for (std::uint64_t i = 0; i < length;) {
        if (!word_byte(static_cast<unsigned char>(text[i]))) {
            ++i;
            continue;
        }
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (; i < length && word_byte(static_cast<unsigned char>(text[i])); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            h = (h ^ static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ull;
        }
        buckets.push_back(static_cast<std::uint32_t>((h ^ (h >> 32)) & mask));
    }
    std::sort(buckets.begin(), buckets.end());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    for (std::uint32_t b : buckets) {
        if (!out.empty() && out.back().first == b) ++out.back().second;
        else out.emplace_back(b, 1);
    }
    return out;
}

coe_status featurize(coe_featurize_args &a) {
    if (a.text_count > 0 && (a.texts == nullptr || a.text_lengths == nullptr))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "texts or text_lengths is null");
    if (a.row_offsets == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets is null");
    if (a.bucket_bits < COE_FEATURIZE_MIN_BUCKET_BITS || a.bucket_bits > COE_FEATURIZE_MAX_BUCKET_BITS)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "bucket_bits is outside 4..24");
    const std::uint32_t mask = (1u << a.bucket_bits) - 1;
    std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> rows;
    std::uint64_t total = 0;
    for (std::uint32_t t = 0; t < a.text_count; ++t) {
        if (a.texts[t] == nullptr && a.text_lengths[t] != 0)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "text " + std::to_string(t) + " is null");
        rows.push_back(word_counts(a.texts[t], a.text_lengths[t], mask));
        total += rows.back().size();
    }
    a.entry_count = total;
    if (total > a.entry_capacity) throw status_error(COE_ERR_BUFFER_TOO_SMALL, "more entries than capacity");
    std::uint64_t at = 0;
    for (std::uint32_t t = 0; t < a.text_count; ++t) {
        a.row_offsets[t] = at;
        double sum_sq = 0;
        for (const auto &e : rows[t]) sum_sq += static_cast<double>(e.second) * e.second;
        const double scale = sum_sq > 0 ? 1.0 / std::sqrt(sum_sq) : 1.0;
        for (const auto &e : rows[t]) {
            a.indices[at] = e.first;
            a.values[at] = static_cast<float>(e.second * scale);
            ++at;
        }
    }
    a.row_offsets[a.text_count] = at;
    return COE_OK;
}

coe_status featurize_op(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] { return featurize(coe::sdk::args_as<coe_featurize_args>(args)); });
}

// revision 1 only
const coe_operation featurize_v1 = {sizeof(coe_operation),       1, COE_OP_FEATURIZE, &featurize_op,
                                    COE_OPERATION_OWN_ALGORITHM, 0};
const coe_operation *const operations[] = {&featurize_v1};

const coe_plugin_descriptor descriptor = {sizeof(coe_plugin_descriptor),
                                          COE_ABI_MAJOR,
                                          COE_ABI_MINOR,
                                          "example.word_features",
                                          "words",
                                          "1.0.0",
                                          "word counts instead of TF-IDF n-grams (coe.featurize/1 only)",
                                          0,
                                          COE_THREAD_SAFETY_REENTRANT,
                                          1,
                                          operations,
                                          nullptr};  // no extensions (coe/ext/)

}  // namespace

extern "C" {
COE_PLUGIN_MANIFEST("example.word_features", "words", "1.0.0", 0);
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t host_major, uint16_t) {
    return host_major == COE_ABI_MAJOR ? &descriptor : nullptr;
}
}
