// word_sums_device.cpp - word_sums() of vulkan_device.hpp: the words'
// vectors kept in device memory between calls, a call's tokens up, the
// sums down.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "vulkan_context.hpp"
#include "vulkan_device.hpp"
#include "word_sums_spirv.h"

namespace coe::vulkan {
namespace {

using sdk::status_error;

constexpr std::uint32_t lanes_per_group = 64;     // word_sums.comp's local_size_x
constexpr std::uint32_t tokens_per_pass = 32768;  // word_sums.comp's tokens per text and dispatch

bool all_finite(const std::uint16_t *values, std::uint64_t count) {
    std::uint16_t any_max_exponent = 0;
    for (std::uint64_t k = 0; k < count; ++k)
        any_max_exponent |= static_cast<std::uint16_t>((values[k] & 0x7c00u) == 0x7c00u);
    return any_max_exponent == 0;
}

// Puts the values in dv.values (at least 4 bytes: the shader reads them as
// uints), unless the same named values are there already.
void place_values(Device &dv, const std::uint16_t *values, std::uint32_t rows, std::uint32_t dims,
                  std::uint64_t values_id) {
    if (values_id != 0 && values_id == dv.values_id && rows == dv.values_rows && dims == dv.values_dims) return;
    dv.values_id = 0;  // nothing named is there until the upload below is done
    const VkDeviceSize bytes = VkDeviceSize{rows} * dims * sizeof(std::uint16_t);
    const VkDeviceSize size = std::max<VkDeviceSize>(4, (bytes + 3) / 4 * 4);
    if (dv.staged) {
        reserve(dv, dv.values, size, Place::device);
        MappedBuffer up;  // for this upload only: a second copy of a whole table is not kept
        try {
            reserve(dv, up, size, Place::upload);
            if (bytes > 0) std::memcpy(up.mapped, values, bytes);
            const VkCommandBuffer cb = begin_commands(dv);
            copy(cb, up, dv.values, size);
            submit_and_wait(dv, static_cast<double>(bytes) / 4, up);
        } catch (...) {
            release(dv, up);
            throw;
        }
        release(dv, up);
    } else {
        reserve(dv, dv.values, size, Place::upload);
        if (bytes > 0) std::memcpy(dv.values.mapped, values, bytes);
    }
    dv.values_finite = all_finite(values, std::uint64_t{rows} * dims);
    dv.values_id = values_id;
    dv.values_rows = rows;
    dv.values_dims = dims;
}

}  // namespace

WordSums word_sums(const std::uint16_t *values, std::uint32_t rows, std::uint32_t dims, std::uint64_t values_id,
                   const std::uint32_t *tokens, const std::uint32_t *token_offsets, std::uint32_t texts, float *sums) {
    const DeviceProbe &probe = probe_device();
    if (!probe.usable) throw status_error(COE_ERR_UNSUPPORTED, "no Vulkan device: " + probe.why);
    Device &dv = the_device();
    const std::lock_guard<std::mutex> lock(dv.mutex);
    const std::uint64_t token_count = token_offsets[texts];
    const VkDeviceSize range = dv.properties.limits.maxStorageBufferRange;
    const VkDeviceSize values_bytes = (VkDeviceSize{rows} * dims * sizeof(std::uint16_t) + 3) / 4 * 4;
    const VkDeviceSize tokens_bytes = std::max<VkDeviceSize>(8, token_count * 2 * sizeof(std::uint32_t));
    const VkDeviceSize offsets_bytes = (VkDeviceSize{texts} + 1) * sizeof(std::uint32_t);
    const VkDeviceSize sums_bytes = std::max<VkDeviceSize>(4, VkDeviceSize{texts} * dims * sizeof(float));
    if (std::uint64_t{rows} * dims >= (std::uint64_t{1} << 32) ||
        std::uint64_t{texts} * dims >= (std::uint64_t{1} << 32))
        throw status_error(COE_ERR_UNSUPPORTED, "too many values or texts for one Vulkan call (32-bit indices)");
    if (values_bytes > range || tokens_bytes > range || offsets_bytes > range || sums_bytes > range)
        throw status_error(COE_ERR_UNSUPPORTED,
                           "word vectors or tokens exceed the Vulkan device's storage buffer "
                           "range (" +
                               std::to_string(range >> 20) + " MiB)");
    ready_device(dv);
    if (dv.sums_pipeline.pipeline == VK_NULL_HANDLE) {
        try {
            dv.sums_pipeline =
                make_pipeline(dv, word_sums_spirv, sizeof(word_sums_spirv), 4, 3 * sizeof(std::uint32_t));
        } catch (const status_error &e) {  // as for the device: a half-made pipeline is not made twice
            dv.broken = e.what();
            throw;
        }
    }
    place_values(dv, values, rows, dims, values_id);
    if (!dv.values_finite) return WordSums::values_not_finite;

    MappedBuffer &tokens_host = reserve_input(dv, dv.tokens, dv.tokens_up, tokens_bytes);
    MappedBuffer &offsets_host = reserve_input(dv, dv.offsets, dv.offsets_up, offsets_bytes);
    MappedBuffer &sums_host = reserve_output(dv, dv.sums, dv.sums_down, sums_bytes);
    if (token_count > 0) std::memcpy(tokens_host.mapped, tokens, token_count * 2 * sizeof(std::uint32_t));
    std::memcpy(offsets_host.mapped, token_offsets, offsets_bytes);
    const MappedBuffer *buffers[4] = {&dv.values, &dv.tokens, &dv.offsets, &dv.sums};
    const VkDeviceSize sizes[4] = {values_bytes == 0 ? 4 : values_bytes, tokens_bytes, offsets_bytes, sums_bytes};
    bind_buffers(dv, dv.sums_pipeline, buffers, sizes, 4);

    const VkCommandBuffer cb = begin_commands(dv);
    upload(dv, cb, dv.tokens_up, dv.tokens, tokens_bytes);
    upload(dv, cb, dv.offsets_up, dv.offsets, offsets_bytes);
    const ComputePipeline &p = dv.sums_pipeline;
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &p.set, 0, nullptr);
    const std::uint32_t groups_x = (dims + lanes_per_group - 1) / lanes_per_group;
    const std::uint32_t most_y = std::max<std::uint32_t>(1, dv.properties.limits.maxComputeWorkGroupCount[1]);
    std::uint32_t longest = 0;  // tokens of the longest text
    for (std::uint32_t t = 0; t < texts; ++t) longest = std::max(longest, token_offsets[t + 1] - token_offsets[t]);
    for (std::uint32_t first = 0; first == 0 || first < longest; first += tokens_per_pass) {
        if (first > 0)  // the pass goes on from the sums the one before wrote
            barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        for (std::uint32_t text0 = 0; text0 < texts; text0 += most_y) {
            const std::uint32_t shape[3] = {dims, text0, first};
            vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof shape, shape);
            vkCmdDispatch(cb, groups_x, std::min(most_y, texts - text0), 1);
        }
    }
    read_back(dv, cb, dv.sums, dv.sums_down, sums_bytes);
    submit_and_wait(dv, static_cast<double>(token_count) * dims, sums_host);
    std::memcpy(sums, sums_host.mapped, std::size_t{texts} * dims * sizeof(float));
    return WordSums::done;
}

std::uint64_t storage_buffer_range() {
    if (!probe_device().usable) return 0;
    return the_device().properties.limits.maxStorageBufferRange;
}

}  // namespace coe::vulkan
