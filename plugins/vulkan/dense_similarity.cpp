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
#include "dense_similarity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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
    const float *data = kernels::rescaled_rows(a, scratch, stride);
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

    std::vector<float> dots(std::uint64_t{n} * n);
    canonical_dots(data, n, d, dots.data());

    std::vector<float> norm(n);
    for (std::uint32_t i = 0; i < n; ++i) norm[i] = std::sqrt(dots[std::uint64_t{i} * n + i]);
    for (std::uint32_t i = 0; i < n; ++i) {
        float *out_i = a.out + std::uint64_t{i} * a.out_stride;
        out_i[i] = 1.f;
        for (std::uint32_t j = i + 1; j < n; ++j) {
            float c = kernels::cosine(dots[std::uint64_t{i} * n + j], norm[i], norm[j]);
            if (c == 0.f) c = 0.f;  // +0, as the specification writes a zero
            out_i[j] = c;
            a.out[std::uint64_t{j} * a.out_stride + i] = c;
        }
    }
    return COE_OK;
}

}  // namespace coe::vulkan
