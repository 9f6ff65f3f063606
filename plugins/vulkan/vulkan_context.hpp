// vulkan_context.hpp - the plugin's one Vulkan device and the pieces every
// device operation shares: buffers, pipelines, one command buffer and its
// submission.  Internal to the plugin; the operations' own entry points are
// in vulkan_device.hpp.
//
// Ownership: the Device is process-wide, created on first use and never
// destroyed (see vulkan_device.hpp).  Threading: every function here except
// the_device() and ready_device() expects dv.mutex to be held.  Errors:
// throw coe::sdk::status_error naming the Vulkan call and its result.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "vulkan_device.hpp"

namespace coe::vulkan {

// A storage buffer; grows, never shrinks.  A host-visible one is mapped for
// its whole life (mapped != nullptr); `coherent` false: the host must
// invalidate before it reads what the device wrote.
struct MappedBuffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void *mapped = nullptr;
    VkDeviceSize size = 0;
    bool coherent = true;
};

// Where a buffer lives.  On a device with memory of its own (a discrete GPU)
// the shaders read their inputs from, and write their outputs to,
// device-local buffers, and copies move them across the bus once; read over
// the bus, an input would cross it once per use.  A device that shares the
// host's memory (a CPU device, an integrated GPU) uses mapped buffers
// directly.
enum class Place {
    upload,    // host-visible, written by the host (write-combined is fine)
    readback,  // host-visible, read by the host: cached memory preferred
    device,    // device-local, not mapped
};

// One compute pipeline with its own descriptor set of storage buffers
// (bindings 0 .. n - 1) and push constants.
struct ComputePipeline {
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkDescriptorSet set = VK_NULL_HANDLE;
};

// Everything of the device.  Guarded by `mutex` once probed.
struct Device {
    std::mutex mutex;
    DeviceProbe probe;
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties properties{};
    VkPhysicalDeviceMemoryProperties memory_properties{};
    std::uint32_t queue_family = 0;

    bool ready = false;
    std::string broken;  // non-empty: the device is lost or hung; why
    VkDevice device = VK_NULL_HANDLE;
    VkQueue queue = VK_NULL_HANDLE;
    bool staged = false;  // device-local buffers and copies (a device with memory of its own)
    VkCommandPool command_pool = VK_NULL_HANDLE;
    VkCommandBuffer command_buffer = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;

    // coe.similarity/2's dots: two shaders over one layout and set
    ComputePipeline dots_pipeline;                                  // the one the calls use
    VkPipeline dots_shaders[2] = {VK_NULL_HANDLE, VK_NULL_HANDLE};  // simple, tiled
    MappedBuffer rows, dots;                                        // what the shader reads and writes
    MappedBuffer rows_up, dots_down;                                // the host's side of them when staged

    // coe.embed_words/1's sums (word_sums_device.cpp)
    ComputePipeline sums_pipeline;  // made on the first call
    MappedBuffer values, tokens, offsets, sums;
    MappedBuffer tokens_up, offsets_up, sums_down;
    std::uint64_t values_id = 0;  // what `values` holds (0: nothing kept between calls)
    std::uint32_t values_rows = 0, values_dims = 0;
    bool values_finite = false;
};

Device &the_device();

// With the mutex held: fails fast when the device is broken, and makes the
// logical device, queue, command objects and the dots pipelines on first
// use (never twice: a failure marks the device broken).
void ready_device(Device &dv);

[[noreturn]] void fail(const char *what, VkResult r);
void check(VkResult r, const char *what);

// Makes `b` at least `size` bytes, at `place` (mapped unless device-local).
void reserve(Device &dv, MappedBuffer &b, VkDeviceSize size, Place place);
void release(Device &dv, MappedBuffer &b);

// A shader's input or output of `bytes`: `on_device` is what the shader
// binds; the host's side is `staging` on a staged device (copied across by
// upload() or read_back()), else on_device itself, mapped.  Both grow as
// reserve() does; returns the host's side.
MappedBuffer &reserve_input(Device &dv, MappedBuffer &on_device, MappedBuffer &staging, VkDeviceSize bytes);
MappedBuffer &reserve_output(Device &dv, MappedBuffer &on_device, MappedBuffer &staging, VkDeviceSize bytes);
// Records, on a staged device, the copy of an input's `bytes` up to the
// device (before the shader reads it); nothing otherwise.
void upload(const Device &dv, VkCommandBuffer cb, const MappedBuffer &staging, const MappedBuffer &on_device,
            VkDeviceSize bytes);
// Records what makes an output's `bytes` visible to the host after the
// shader wrote them: a barrier, and on a staged device the copy down.
void read_back(const Device &dv, VkCommandBuffer cb, const MappedBuffer &on_device, const MappedBuffer &staging,
               VkDeviceSize bytes);

// A pipeline for `code` (SPIR-V) with `bindings` storage buffers and
// `push_bytes` of push constants.
ComputePipeline make_pipeline(Device &dv, const std::uint32_t *code, std::size_t code_bytes, std::uint32_t bindings,
                              std::uint32_t push_bytes);
// Points binding b of `p`'s set at buffers[b] (the first sizes[b] bytes).
void bind_buffers(Device &dv, const ComputePipeline &p, const MappedBuffer *const *buffers, const VkDeviceSize *sizes,
                  std::uint32_t count);

// A barrier between two stages of one command buffer.
void barrier(VkCommandBuffer cb, VkPipelineStageFlags from_stage, VkAccessFlags from, VkPipelineStageFlags to_stage,
             VkAccessFlags to);
// Records a copy of the first `bytes` of `from` into `to`.
void copy(VkCommandBuffer cb, const MappedBuffer &from, const MappedBuffer &to, VkDeviceSize bytes);

// Resets and begins dv.command_buffer; returns it.
VkCommandBuffer begin_commands(Device &dv);
// Ends, submits and waits for dv.command_buffer (a few seconds plus the
// work at a slow device's pace, 2^28 multiply-adds a second), then makes
// `read` visible to the host.  A lost device or a timeout marks the device
// broken.
void submit_and_wait(Device &dv, double multiply_adds, const MappedBuffer &read);

}  // namespace coe::vulkan
