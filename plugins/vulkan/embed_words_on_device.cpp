// embed_words_on_device.cpp - see embed_words_on_device.hpp.
//
// What runs where.  The host finds each text's words (the tokeniser, the
// hash and the table's probe: byte work with branches, the scalar kernel's
// own code) and lists, per text in token order, the row and weight of every
// word whose weight is not 0.  The device sums the weighted vectors
// (word_sums.comp): the gathers and adds that are most of the operation's
// time on a CPU.  The host then divides by the norm, in double, as the
// specification says (Vulkan does not round division or square roots
// correctly).
//
// Where the vectors live.  A table whose values_id is set (the engine sets
// it to the word-vector file's checksum) is uploaded once and stays in
// device memory while calls name the same id, so a call moves only its
// tokens up and its sums down.  A table without an id, or too large for one
// storage buffer, is uploaded per call as the rows the call uses.
//
// The same bits.  A device may flush subnormal floats to zero and need not
// keep infinities (lavapipe does both).  The specification's sums need
// neither when every weight used is finite with magnitude 0 or at least
// 2^-50, and each text's weights add up to less than 2^126 / 65504: every
// product (a weight times a binary16 value, at most 65504, at least 2^-24
// when not 0) is then 0 or a float of at least 2^-74, hence a multiple of
// 2^-97, and so is every sum; no sum can reach 2^127.  Other calls, and
// tables whose values hold an infinity or a NaN, run the scalar kernel on
// the CPU instead: the same result, never a different one.  A lane's sum
// is never -0 by the specification (it starts at +0, and x + (-x) is +0);
// a device that does not keep the sign of zeros could give -0, so a zero
// is written as +0.
#include "embed_words_on_device.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "embed_words_kernel.hpp"
#include "vulkan_device.hpp"

namespace coe::vulkan {
namespace {

using kernels::scalar_arch;

// One call's host-side lists; kept per thread, so they grow to the largest
// call and stay.
struct Scratch {
    std::vector<unsigned char> folded;                             // the tokeniser's folded text
    std::vector<std::uint32_t> tokens;                             // (row, weight's bits) per weighted word
    std::vector<std::uint32_t> offsets;                            // text t's tokens: offsets[t] .. offsets[t + 1]
    std::unordered_map<std::uint32_t, std::uint32_t> compact_row;  // table row -> row of `compact`
    std::vector<std::uint16_t> compact;                            // the rows a call uses, when the table is not kept
    std::vector<float> sums;                                       // the device's sums, texts * dims
};

std::uint32_t float_bits(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return bits;
}

}  // namespace

coe_status embed_words(coe_embed_words_args &a) {
    kernels::validate_embed_words(a);
    if (a.text_count == 0) return COE_OK;
    const coe_word_table &table = *a.table;
    const std::uint32_t dims = table.dims;
    const std::uint64_t values_id = table.struct_size >= sizeof(coe_word_table) ? table.values_id : 0;
    const bool kept =
        values_id != 0 && std::uint64_t{table.word_count} * dims * sizeof(std::uint16_t) <= storage_buffer_range();

    thread_local Scratch scratch;
    Scratch &s = scratch;
    s.tokens.clear();
    s.offsets.clear();
    s.compact_row.clear();
    s.compact.clear();
    const kernels::WordProbe probe(table);
    kernels::TokenBatch batch;
    bool exact = true;
    for (std::uint32_t i = 0; i < a.text_count; ++i) {
        s.offsets.push_back(static_cast<std::uint32_t>(s.tokens.size() / 2));
        double weights_sum = 0.0;
        std::uint32_t known = 0;
        kernels::find_words<false>(reinterpret_cast<const unsigned char *>(a.texts[i]), a.text_lengths[i], probe, table,
                                   s.folded, batch, [&](std::uint32_t r) {
                                       ++known;
                                       const float w = table.weights[r];
                                       if (w == 0.f) return;  // weight 0 drops the word
                                       const float m = std::fabs(w);
                                       if (!(m >= 0x1p-50f) || !std::isfinite(m)) exact = false;
                                       weights_sum += m;
                                       std::uint32_t row = r;
                                       if (!kept) {
                                           const auto [at, added] = s.compact_row.emplace(
                                               r, static_cast<std::uint32_t>(s.compact_row.size()));
                                           if (added) {
                                               const std::uint16_t *v = table.values + std::uint64_t{r} * dims;
                                               s.compact.insert(s.compact.end(), v, v + dims);
                                           }
                                           row = at->second;
                                       }
                                       s.tokens.push_back(row);
                                       s.tokens.push_back(float_bits(w));
                                   });
        if (!(weights_sum * 65504.0 < 0x1p126) || s.tokens.size() / 2 > UINT32_MAX) exact = false;
        if (a.known_words != nullptr) a.known_words[i] = known;
    }
    s.offsets.push_back(static_cast<std::uint32_t>(s.tokens.size() / 2));
    if (!exact) return kernels::embed_words<scalar_arch>(a);

    s.sums.resize(std::uint64_t{a.text_count} * dims);
    const WordSums done = kept ? word_sums(table.values, table.word_count, dims, values_id, s.tokens.data(),
                                           s.offsets.data(), a.text_count, s.sums.data())
                               : word_sums(s.compact.data(), static_cast<std::uint32_t>(s.compact_row.size()), dims, 0,
                                           s.tokens.data(), s.offsets.data(), a.text_count, s.sums.data());
    if (done == WordSums::values_not_finite) return kernels::embed_words<scalar_arch>(a);
    for (std::uint32_t i = 0; i < a.text_count; ++i) {
        float *row = a.vectors + std::uint64_t{i} * a.vector_stride;
        const float *sum = s.sums.data() + std::uint64_t{i} * dims;
        for (std::uint32_t d = 0; d < dims; ++d) row[d] = sum[d] == 0.f ? 0.f : sum[d];
        kernels::normalise_row(row, dims);
    }
    return COE_OK;
}

}  // namespace coe::vulkan
