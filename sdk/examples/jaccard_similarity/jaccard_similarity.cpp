// An example user plugin: replaces coe.similarity with the Jaccard index of
// the responses' sets of hashed n-grams, |A n B| / |A u B|, and leaves every
// other stage to the engine's best built-in backend.  Dense vectors (from
// embeddings) have no set to compare; for them it falls back to cosine.
//
// Because the numbers are not the reference's cosine, the operation declares
// COE_OPERATION_OWN_ALGORITHM: the engine checks its results for validity
// but never compares them with the scalar backend.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"

namespace {

using coe::sdk::status_error;

// Jaccard index of the index sets of two CSR rows (indices strictly increasing).
float jaccard(const std::uint32_t *a, std::uint64_t na, const std::uint32_t *b, std::uint64_t nb) {
    if (na == 0 || nb == 0) return 0.f;
    std::uint64_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            ++common;
            ++i;
            ++j;
        } else if (a[i] < b[j]) {
            ++i;
        } else {
            ++j;
        }
    }
    return static_cast<float>(static_cast<double>(common) / static_cast<double>(na + nb - common));
}

float cosine(const float *a, const float *b, std::uint64_t d) {
    double dot = 0, na = 0, nb = 0;
    for (std::uint64_t k = 0; k < d; ++k) {
        if (!std::isfinite(a[k]) || !std::isfinite(b[k]))
            throw status_error(COE_ERR_INVALID_ARGUMENT, "a vector has a non-finite value");
        dot += static_cast<double>(a[k]) * b[k];
        na += static_cast<double>(a[k]) * a[k];
        nb += static_cast<double>(b[k]) * b[k];
    }
    if (na == 0 || nb == 0) return 0.f;
    const double c = dot / std::sqrt(na * nb);
    return static_cast<float>(c > 1 ? 1 : (c < -1 ? -1 : c));
}

coe_status jaccard_similarity(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        auto &a = coe::sdk::args_as<coe_similarity_args>(args);
        if (a.count == 0) return COE_OK;
        if (a.out == nullptr || a.out_stride < a.count)
            throw status_error(COE_ERR_INVALID_ARGUMENT, "out is null or out_stride < count");
        const bool sparse = a.kind == COE_VECTORS_SPARSE;
        if (!sparse && a.kind != COE_VECTORS_DENSE)
            throw status_error(COE_ERR_UNSUPPORTED, "unknown vector kind " + std::to_string(a.kind));
        if (sparse && a.row_offsets == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "row_offsets is null");
        if (!sparse && (a.dense == nullptr || a.dimension == 0 || a.dense_stride < a.dimension))
            throw status_error(COE_ERR_INVALID_ARGUMENT, "dense input needs data and a dimension");
        for (std::uint32_t i = 0; i < a.count; ++i) {
            a.out[i * a.out_stride + i] = 1.f;
            for (std::uint32_t j = i + 1; j < a.count; ++j) {
                float s;
                if (sparse) {
                    const std::uint64_t bi = a.row_offsets[i], bj = a.row_offsets[j];
                    s = jaccard(a.indices + bi, a.row_offsets[i + 1] - bi, a.indices + bj, a.row_offsets[j + 1] - bj);
                } else {
                    s = cosine(a.dense + i * a.dense_stride, a.dense + j * a.dense_stride, a.dimension);
                }
                a.out[i * a.out_stride + j] = a.out[j * a.out_stride + i] = s;
            }
        }
        return COE_OK;
    });
}

constexpr coe_operation similarity_op = {sizeof(coe_operation),       1, COE_OP_SIMILARITY, &jaccard_similarity,
                                         COE_OPERATION_OWN_ALGORITHM, 0};
constexpr const coe_operation *operations[] = {&similarity_op};
constexpr coe_plugin_descriptor descriptor = {sizeof(coe_plugin_descriptor),
                                              COE_ABI_MAJOR,
                                              COE_ABI_MINOR,
                                              "org.example.jaccard",
                                              "jaccard",
                                              "1.0.0",
                                              "Jaccard index of hashed n-gram sets (example user plugin)",
                                              0,
                                              COE_THREAD_SAFETY_REENTRANT,
                                              1,
                                              operations,
                                              nullptr};  // no extensions (coe/ext/)

}  // namespace

extern "C" {
COE_PLUGIN_MANIFEST("org.example.jaccard", "jaccard", "1.0.0", 0);
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t, uint16_t) { return &descriptor; }
}
