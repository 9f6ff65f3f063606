// dense_similarity.cpp - see dense_similarity.hpp.
//
// What runs where.  The CPU does what the specification needs correctly
// rounded and Vulkan does not promise: the rescaling of extreme rows (as
// the scalar kernel's rescaled_rows does it), the square roots of the norms
// and the cosines (Vulkan allows 2.5 ULP for division and sqrt).  The device
// computes every dot product (canonical_dots.comp), which needs only
// correctly rounded adds and multiplies and no contraction.
//
// Subnormals.  A Vulkan device may flush subnormal floats to zero (lavapipe
// does: shaderDenormPreserveFloat32 is false), which the specification does
// not allow.  When every nonzero element has magnitude at least 2^-50, every
// product is at least 2^-100 and every partial sum is 0 or a multiple of
// 2^-123, so no subnormal can arise and the device's sums are exact to the
// specification.  Inputs with smaller nonzero elements are computed by the
// scalar kernel on the CPU instead (the same result, never a different one).
//
// The host's share.  The device hands back the upper triangle of dots block
// by block; the cosines are written to both triangles in 64 x 64 tiles (so
// the mirrored writes stay within a few cache lines per row), by several
// threads when the matrix is large: on a GPU this is most of a call's time.
#include "dense_similarity.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <system_error>
#include <thread>
#include <vector>

#include "canonical_dot.hpp"
#include "coe/plugin_helper.hpp"
#include "similarity_kernel.hpp"
#include "vulkan_device.hpp"

namespace coe::vulkan {
namespace {

using kernels::scalar_arch;

bool may_produce_subnormals(const float *data, std::uint64_t count) {
    constexpr float smallest_safe = 0x1p-50f;
    for (std::uint64_t k = 0; k < count; ++k) {
        const float m = std::fabs(data[k]);
        if (m != 0.f && m < smallest_safe) return true;
    }
    return false;
}

constexpr std::uint32_t tile = 64;

// The cosines of rows i0 .. i1 - 1 (within the block starting at row0)
// against every column j > i, written to out[i][j] and out[j][i].
void write_cosines(const float *block, std::uint32_t row0, std::uint32_t i0, std::uint32_t i1, std::uint32_t n,
                   const float *norm, float *out, std::uint64_t stride) {
    for (std::uint32_t jb = i0 / tile * tile; jb < n; jb += tile) {
        const std::uint32_t jend = std::min(n, jb + tile);
        for (std::uint32_t i = i0; i < i1; ++i) {
            const float *dots_i = block + std::uint64_t{i - row0} * n;
            float *out_i = out + std::uint64_t{i} * stride;
            for (std::uint32_t j = std::max(jb, i + 1); j < jend; ++j) {
                float c = kernels::cosine(dots_i[j], norm[i], norm[j]);
                if (c == 0.f) c = 0.f;  // +0, as the specification writes a zero
                out_i[j] = c;
                out[std::uint64_t{j} * stride + i] = c;
            }
        }
    }
}

// Threads for the host's share of a call of n vectors: one below 512.
unsigned host_threads(std::uint32_t n) {
    if (n < 512) return 1;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return std::min({cores, 16u, (n + tile - 1) / tile});
}

}  // namespace

coe_status similarity_v2(const coe_similarity_args &a) {
    using sdk::status_error;
    if (a.kind != COE_VECTORS_DENSE || a.count == 0) return kernels::similarity<scalar_arch, 2>(a);
    if (a.reserved0 != 0 || a.reserved1 != 0) throw status_error(COE_ERR_INVALID_ARGUMENT, "reserved fields must be 0");
    if (a.out == nullptr || a.out_stride < a.count)
        throw status_error(COE_ERR_INVALID_ARGUMENT, "out is null or out_stride < count");
    if (a.dense == nullptr || a.dimension == 0 || a.dense_stride < a.dimension)
        throw status_error(COE_ERR_INVALID_ARGUMENT,
                           "dense input needs data, dimension >= 1 and dense_stride >= dimension");
    if (a.dimension > UINT32_MAX) throw status_error(COE_ERR_UNSUPPORTED, "dimension above 2^32 - 1 for Vulkan");
    const std::uint32_t n = a.count;
    const auto d = static_cast<std::uint32_t>(a.dimension);

    // the rows as the specification sums them (extreme rows rescaled), packed
    std::vector<float> scratch, packed;
    std::uint64_t stride = 0;
    const float *data = kernels::rescaled_rows<kernels::scalar_arch>(a, scratch, stride);
    if (stride != d) {
        packed.resize(std::uint64_t{n} * d);
        for (std::uint32_t i = 0; i < n; ++i)
            std::copy(data + i * stride, data + i * stride + d, packed.begin() + static_cast<std::ptrdiff_t>(i * d));
        data = packed.data();
    }
    if (may_produce_subnormals(data, std::uint64_t{n} * d)) {
        kernels::similarity_dense_canonical<scalar_arch>(a);
        return COE_OK;
    }

    // The norms: from the diagonal when the whole matrix comes back in one
    // block, else computed here first (the same canonical sums, so the same
    // bits) since a block's cosines need the norms of later rows.
    std::vector<float> norm(n);
    const std::uint32_t block_rows = rows_per_block(n);
    if (block_rows < n)
        for (std::uint32_t i = 0; i < n; ++i)
            norm[i] = std::sqrt(
                kernels::canonical_dot<scalar_arch>(data + std::uint64_t{i} * d, data + std::uint64_t{i} * d, d));
    const unsigned threads = host_threads(n);
    canonical_dots(data, n, d, [&](std::uint32_t row0, std::uint32_t rows, const float *block) {
        if (block_rows >= n)
            for (std::uint32_t i = 0; i < n; ++i) norm[i] = std::sqrt(block[std::uint64_t{i} * n + i]);
        for (std::uint32_t i = row0; i < row0 + rows; ++i) a.out[std::uint64_t{i} * a.out_stride + i] = 1.f;
        // tiles of rows, taken in turn by the threads (the triangle's rows
        // differ in length, so no fixed split)
        std::atomic<std::uint32_t> next{row0};
        auto work = [&] {
            for (std::uint32_t i0; (i0 = next.fetch_add(tile)) < row0 + rows;)
                write_cosines(block, row0, i0, std::min(row0 + rows, i0 + tile), n, norm.data(), a.out, a.out_stride);
        };
        std::vector<std::thread> helpers;
        try {
            for (unsigned t = 1; t < threads; ++t) helpers.emplace_back(work);
        } catch (const std::system_error &) {
            // no more threads to be had: the ones started and this one do it all
        }
        work();
        for (auto &h : helpers) h.join();
    });
    return COE_OK;
}

}  // namespace coe::vulkan
