// vulkan_device.cpp - see vulkan_device.hpp and vulkan_context.hpp.  The
// Vulkan objects (instance, device, pipelines, buffers), their submission,
// and the call that dispatches the canonical-dots shader.
#include "vulkan_device.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "canonical_dots_spirv.h"
#include "canonical_dots_tiled_spirv.h"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "vulkan_context.hpp"

namespace coe::vulkan {
namespace {

using sdk::status_error;

const char *result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    default: return "VkResult error";
    }
}

coe_status status_of(VkResult r) {
    return r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? COE_ERR_OUT_OF_MEMORY
                                                                                  : COE_ERR_INTERNAL;
}

const char *type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU device";
    default: return "other device";
    }
}

int type_rank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

void probe_into(Device &dv) {
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "coe";
    app.pEngineName = "coe.backend.vulkan";
    std::uint32_t loader_version = VK_API_VERSION_1_0;
    auto enumerate_version = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(
        vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
    if (enumerate_version != nullptr && enumerate_version(&loader_version) != VK_SUCCESS)
        loader_version = VK_API_VERSION_1_0;
    app.apiVersion = loader_version >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_0;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pApplicationInfo = &app;
    if (VkResult r = vkCreateInstance(&info, nullptr, &dv.instance); r != VK_SUCCESS) {
        dv.instance = VK_NULL_HANDLE;
        dv.probe.why = std::string("no Vulkan driver (vkCreateInstance: ") + result_name(r) + ")";
        return;
    }
    std::uint32_t count = 0;
    vkEnumeratePhysicalDevices(dv.instance, &count, nullptr);
    std::vector<VkPhysicalDevice> devices(count);
    if (count > 0) vkEnumeratePhysicalDevices(dv.instance, &count, devices.data());
    devices.resize(count);
    int best_rank = -1;
    for (VkPhysicalDevice pd : devices) {
        VkPhysicalDeviceProperties p{};
        vkGetPhysicalDeviceProperties(pd, &p);
        std::uint32_t families = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, nullptr);
        std::vector<VkQueueFamilyProperties> fp(families);
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, fp.data());
        for (std::uint32_t f = 0; f < families; ++f) {
            if ((fp[f].queueFlags & VK_QUEUE_COMPUTE_BIT) == 0 || fp[f].queueCount == 0) continue;
            if (type_rank(p.deviceType) > best_rank) {
                best_rank = type_rank(p.deviceType);
                dv.physical = pd;
                dv.properties = p;
                dv.queue_family = f;
            }
            break;
        }
    }
    if (dv.physical == VK_NULL_HANDLE) {
        dv.probe.why = count == 0 ? "no Vulkan device" : "no Vulkan device with a compute queue";
        return;
    }
    vkGetPhysicalDeviceMemoryProperties(dv.physical, &dv.memory_properties);
    std::string driver;
    if (app.apiVersion >= VK_API_VERSION_1_2 && dv.properties.apiVersion >= VK_API_VERSION_1_2) {
        VkPhysicalDeviceDriverProperties driver_props{};
        driver_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
        VkPhysicalDeviceProperties2 p2{};
        p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        p2.pNext = &driver_props;
        vkGetPhysicalDeviceProperties2(dv.physical, &p2);
        driver = driver_props.driverName;
    }
    VkDeviceSize heap = 0;  // the largest device-local heap
    for (std::uint32_t h = 0; h < dv.memory_properties.memoryHeapCount; ++h)
        if (dv.memory_properties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            heap = std::max(heap, dv.memory_properties.memoryHeaps[h].size);
    dv.probe.summary = std::string("Vulkan compute on ") + dv.properties.deviceName + ", " +
                       type_name(dv.properties.deviceType) + (driver.empty() ? "" : ", driver " + driver) + ", " +
                       std::to_string(heap >> 20) + " MiB";
    switch (dv.properties.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: dv.probe.type = COE_DEVICE_TYPE_DISCRETE_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: dv.probe.type = COE_DEVICE_TYPE_INTEGRATED_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: dv.probe.type = COE_DEVICE_TYPE_VIRTUAL_GPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: dv.probe.type = COE_DEVICE_TYPE_CPU; break;
    default: dv.probe.type = COE_DEVICE_TYPE_OTHER; break;
    }
    dv.probe.name = dv.properties.deviceName;
    dv.probe.driver = driver;
    dv.probe.memory_bytes = heap;
    dv.probe.usable = true;
}

// Settings for measuring and testing, read once from the environment:
//   COE_VULKAN_SHADER=simple|tiled   the shader (default: tiled on a device
//                                    with memory of its own, else simple)
//   COE_VULKAN_STAGING=on|off        device-local buffers and copies (default:
//                                    on for a device with memory of its own)
//   COE_VULKAN_BLOCK_ROWS=K          at most K rows of dots per dispatch
// An unknown value fails the device's set-up, naming it.
struct Tuning {
    int shader = -1;               // -1: the default; 0 simple, 1 tiled
    int staging = -1;              // -1: the default; 0 off, 1 on
    std::uint32_t block_rows = 0;  // 0: as many as fit
    std::string error;
};

const Tuning &tuning() {
    static const Tuning t = [] {
        Tuning r;
        auto pick = [&](const char *name, const char *no, const char *yes, int &into) {
            const char *v = std::getenv(name);
            if (v == nullptr || *v == 0) return;
            if (std::strcmp(v, no) == 0) into = 0;
            else if (std::strcmp(v, yes) == 0) into = 1;
            else r.error = std::string(name) + " must be " + no + " or " + yes + ", not '" + v + "'";
        };
        pick("COE_VULKAN_SHADER", "simple", "tiled", r.shader);
        pick("COE_VULKAN_STAGING", "off", "on", r.staging);
        if (const char *v = std::getenv("COE_VULKAN_BLOCK_ROWS"); v != nullptr && *v != 0) {
            char *end = nullptr;
            const unsigned long k = std::strtoul(v, &end, 10);
            if (*end != 0 || k == 0 || k > UINT32_MAX)
                r.error = std::string("COE_VULKAN_BLOCK_ROWS must be a whole number from 1, not '") + v + "'";
            else r.block_rows = static_cast<std::uint32_t>(k);
        }
        return r;
    }();
    return t;
}

// A compute pipeline running `code` over `layout`.
VkPipeline shader_pipeline(Device &dv, VkPipelineLayout layout, const std::uint32_t *code, std::size_t code_bytes) {
    VkShaderModuleCreateInfo shader_info{};
    shader_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    shader_info.codeSize = code_bytes;
    shader_info.pCode = code;
    VkShaderModule module = VK_NULL_HANDLE;
    check(vkCreateShaderModule(dv.device, &shader_info, nullptr, &module), "vkCreateShaderModule");
    VkComputePipelineCreateInfo pipeline_info{};
    pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipeline_info.stage.module = module;
    pipeline_info.stage.pName = "main";
    pipeline_info.layout = layout;
    VkPipeline pipeline = VK_NULL_HANDLE;
    const VkResult r = vkCreateComputePipelines(dv.device, VK_NULL_HANDLE, 1, &pipeline_info, nullptr, &pipeline);
    vkDestroyShaderModule(dv.device, module, nullptr);
    check(r, "vkCreateComputePipelines");
    return pipeline;
}

// The logical device, queue, dots pipelines and command objects.  Called
// with the mutex held.
void make_ready(Device &dv) {
    const float priority = 1.f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = dv.queue_family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{};
    device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    check(vkCreateDevice(dv.physical, &device_info, nullptr, &dv.device), "vkCreateDevice");
    vkGetDeviceQueue(dv.device, dv.queue_family, 0, &dv.queue);

    // both dots shaders (the same sums) over one layout: the simple one reads
    // every term from device memory; the tiled one stages 16 x 16 tiles in
    // shared memory, which pays on a GPU and not on a CPU device (its
    // barriers are dear)
    dv.dots_pipeline =
        make_pipeline(dv, canonical_dots_spirv, sizeof(canonical_dots_spirv), 2, 4 * sizeof(std::uint32_t));
    dv.dots_shaders[0] = dv.dots_pipeline.pipeline;
    dv.dots_shaders[1] =
        shader_pipeline(dv, dv.dots_pipeline.layout, canonical_dots_tiled_spirv, sizeof(canonical_dots_tiled_spirv));
    const bool shares_host_memory = dv.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ||
                                    dv.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
    const Tuning &t = tuning();
    if (!t.error.empty()) throw status_error(COE_ERR_INVALID_ARGUMENT, t.error);
    dv.dots_pipeline.pipeline = dv.dots_shaders[t.shader >= 0 ? t.shader : shares_host_memory ? 0 : 1];
    dv.staged = t.staging >= 0 ? t.staging == 1 : !shares_host_memory;

    VkCommandPoolCreateInfo command_pool_info{};

    command_pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    command_pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    command_pool_info.queueFamilyIndex = dv.queue_family;
    check(vkCreateCommandPool(dv.device, &command_pool_info, nullptr, &dv.command_pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc_cb{};
    alloc_cb.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc_cb.commandPool = dv.command_pool;
    alloc_cb.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc_cb.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(dv.device, &alloc_cb, &dv.command_buffer), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence_info{};
    fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    check(vkCreateFence(dv.device, &fence_info, nullptr, &dv.fence), "vkCreateFence");
    dv.ready = true;
}

// COE_VULKAN_TEST_FAULT=lost|oom makes every submission fail as a lost
// device or an exhausted device memory would (for the fault tests).
VkResult injected_fault() {
    const char *f = std::getenv("COE_VULKAN_TEST_FAULT");
    if (f == nullptr) return VK_SUCCESS;
    if (std::strcmp(f, "lost") == 0) return VK_ERROR_DEVICE_LOST;
    if (std::strcmp(f, "oom") == 0) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return VK_SUCCESS;
}

// The memory type for a buffer at `place`: the first type of `bits` with
// all of the wanted properties, trying the preferred sets in order;
// UINT32_MAX if none.
std::uint32_t memory_type(const Device &dv, std::uint32_t bits, Place place, bool &coherent) {
    const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                coherent_bit = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                                local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    std::vector<VkMemoryPropertyFlags> wanted;
    switch (place) {
    case Place::upload: wanted = {visible | coherent_bit}; break;
    case Place::readback: wanted = {visible | coherent_bit | cached, visible | cached, visible | coherent_bit}; break;
    case Place::device: wanted = {local}; break;
    }
    for (VkMemoryPropertyFlags want : wanted)
        for (std::uint32_t t = 0; t < dv.memory_properties.memoryTypeCount; ++t)
            if ((bits & (1u << t)) && (dv.memory_properties.memoryTypes[t].propertyFlags & want) == want) {
                coherent = (dv.memory_properties.memoryTypes[t].propertyFlags & coherent_bit) != 0;
                return t;
            }
    return UINT32_MAX;
}

// Records and runs one block of rows of dots; waits for it.  Called with
// the mutex held.
void dispatch_block(Device &dv, std::uint32_t n, std::uint32_t d, std::uint32_t row0, std::uint32_t rows_in_block) {
    const VkCommandBuffer cb = begin_commands(dv);
    if (row0 == 0)
        upload(dv, cb, dv.rows_up, dv.rows, VkDeviceSize{n} * d * sizeof(float));  // once, with the first block
    const ComputePipeline &p = dv.dots_pipeline;
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &p.set, 0, nullptr);
    const std::uint32_t shape[4] = {n, d, row0, rows_in_block};
    vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof shape, shape);
    vkCmdDispatch(cb, (n + 15) / 16, (rows_in_block + 15) / 16, 1);
    read_back(dv, cb, dv.dots, dv.dots_down, VkDeviceSize{rows_in_block} * n * sizeof(float));
    submit_and_wait(dv, static_cast<double>(rows_in_block) * n * d, dv.staged ? dv.dots_down : dv.dots);
}

}  // namespace

Device &the_device() {
    static Device *d = new Device;  // never destroyed: see vulkan_device.hpp
    return *d;
}

[[noreturn]] void fail(const char *what, VkResult r) {
    throw status_error(status_of(r), std::string("Vulkan ") + what + " failed: " + result_name(r) + " (" +
                                         std::to_string(static_cast<int>(r)) + ")");
}

void check(VkResult r, const char *what) {
    if (r != VK_SUCCESS) fail(what, r);
}

void ready_device(Device &dv) {
    if (!dv.broken.empty()) throw status_error(COE_ERR_INTERNAL, "Vulkan device unusable: " + dv.broken);
    if (dv.ready) return;
    try {
        make_ready(dv);
    } catch (const status_error &e) {  // never retried: a half-made device is not made twice
        dv.broken = e.what();
        throw;
    }
}

void release(Device &dv, MappedBuffer &b) {
    if (b.mapped != nullptr) vkUnmapMemory(dv.device, b.memory);
    if (b.buffer != VK_NULL_HANDLE) vkDestroyBuffer(dv.device, b.buffer, nullptr);
    if (b.memory != VK_NULL_HANDLE) vkFreeMemory(dv.device, b.memory, nullptr);
    b = MappedBuffer{};
}

void reserve(Device &dv, MappedBuffer &b, VkDeviceSize size, Place place) {
    if (b.size >= size) return;
    release(dv, b);
    VkBufferCreateInfo buffer_info{};
    buffer_info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    buffer_info.size = size;
    buffer_info.usage =
        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    buffer_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(vkCreateBuffer(dv.device, &buffer_info, nullptr, &b.buffer), "vkCreateBuffer");
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dv.device, b.buffer, &req);
    const std::uint32_t type = memory_type(dv, req.memoryTypeBits, place, b.coherent);
    if (type == UINT32_MAX) {
        release(dv, b);
        throw status_error(COE_ERR_UNSUPPORTED, place == Place::device
                                                    ? "Vulkan device has no device-local memory for buffers"
                                                    : "Vulkan device has no host-visible memory for buffers");
    }
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    if (VkResult r = vkAllocateMemory(dv.device, &alloc, nullptr, &b.memory); r != VK_SUCCESS) {
        b.memory = VK_NULL_HANDLE;
        release(dv, b);
        fail("vkAllocateMemory", r);
    }
    if (VkResult r = vkBindBufferMemory(dv.device, b.buffer, b.memory, 0); r != VK_SUCCESS) {
        release(dv, b);
        fail("vkBindBufferMemory", r);
    }
    if (place != Place::device) {
        if (VkResult r = vkMapMemory(dv.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped); r != VK_SUCCESS) {
            b.mapped = nullptr;
            release(dv, b);
            fail("vkMapMemory", r);
        }
    }
    b.size = size;
}

namespace {

// The host's side at `host` (upload or readback): on_device itself on an
// unstaged device, else staging beside a device-local on_device.
MappedBuffer &reserve_staged(Device &dv, MappedBuffer &on_device, MappedBuffer &staging, VkDeviceSize bytes,
                             Place host) {
    if (!dv.staged) {
        reserve(dv, on_device, bytes, host);
        return on_device;
    }
    reserve(dv, on_device, bytes, Place::device);
    reserve(dv, staging, bytes, host);
    return staging;
}

}  // namespace

MappedBuffer &reserve_input(Device &dv, MappedBuffer &on_device, MappedBuffer &staging, VkDeviceSize bytes) {
    return reserve_staged(dv, on_device, staging, bytes, Place::upload);
}

MappedBuffer &reserve_output(Device &dv, MappedBuffer &on_device, MappedBuffer &staging, VkDeviceSize bytes) {
    return reserve_staged(dv, on_device, staging, bytes, Place::readback);
}

void upload(const Device &dv, VkCommandBuffer cb, const MappedBuffer &staging, const MappedBuffer &on_device,
            VkDeviceSize bytes) {
    if (!dv.staged) return;
    copy(cb, staging, on_device, bytes);
    barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT);
}

void read_back(const Device &dv, VkCommandBuffer cb, const MappedBuffer &on_device, const MappedBuffer &staging,
               VkDeviceSize bytes) {
    if (!dv.staged) {
        barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);
        return;
    }
    barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    copy(cb, on_device, staging, bytes);
    barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
            VK_ACCESS_HOST_READ_BIT);
}

ComputePipeline make_pipeline(Device &dv, const std::uint32_t *code, std::size_t code_bytes, std::uint32_t bindings,
                              std::uint32_t push_bytes) {
    ComputePipeline p;
    std::vector<VkDescriptorSetLayoutBinding> binding(bindings);
    for (std::uint32_t b = 0; b < bindings; ++b) {
        binding[b].binding = b;
        binding[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        binding[b].descriptorCount = 1;
        binding[b].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo set_info{};
    set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    set_info.bindingCount = bindings;
    set_info.pBindings = binding.data();
    check(vkCreateDescriptorSetLayout(dv.device, &set_info, nullptr, &p.set_layout), "vkCreateDescriptorSetLayout");

    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo layout_info{};
    layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &p.set_layout;
    layout_info.pushConstantRangeCount = 1;
    layout_info.pPushConstantRanges = &push;
    check(vkCreatePipelineLayout(dv.device, &layout_info, nullptr, &p.layout), "vkCreatePipelineLayout");
    p.pipeline = shader_pipeline(dv, p.layout, code, code_bytes);

    VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, bindings};
    VkDescriptorPoolCreateInfo pool_info{};
    pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    pool_info.maxSets = 1;
    pool_info.poolSizeCount = 1;
    pool_info.pPoolSizes = &pool_size;
    check(vkCreateDescriptorPool(dv.device, &pool_info, nullptr, &p.pool), "vkCreateDescriptorPool");
    VkDescriptorSetAllocateInfo alloc_set{};
    alloc_set.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    alloc_set.descriptorPool = p.pool;
    alloc_set.descriptorSetCount = 1;
    alloc_set.pSetLayouts = &p.set_layout;
    check(vkAllocateDescriptorSets(dv.device, &alloc_set, &p.set), "vkAllocateDescriptorSets");
    return p;
}

void bind_buffers(Device &dv, const ComputePipeline &p, const MappedBuffer *const *buffers, const VkDeviceSize *sizes,
                  std::uint32_t count) {
    std::vector<VkDescriptorBufferInfo> infos(count);
    std::vector<VkWriteDescriptorSet> writes(count);
    for (std::uint32_t b = 0; b < count; ++b) {
        infos[b] = {buffers[b]->buffer, 0, sizes[b]};
        writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        writes[b].dstSet = p.set;
        writes[b].dstBinding = b;
        writes[b].descriptorCount = 1;
        writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[b].pBufferInfo = &infos[b];
    }
    vkUpdateDescriptorSets(dv.device, count, writes.data(), 0, nullptr);
}

void barrier(VkCommandBuffer cb, VkPipelineStageFlags from_stage, VkAccessFlags from, VkPipelineStageFlags to_stage,
             VkAccessFlags to) {
    VkMemoryBarrier m{};
    m.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    m.srcAccessMask = from;
    m.dstAccessMask = to;
    vkCmdPipelineBarrier(cb, from_stage, to_stage, 0, 1, &m, 0, nullptr, 0, nullptr);
}

void copy(VkCommandBuffer cb, const MappedBuffer &from, const MappedBuffer &to, VkDeviceSize bytes) {
    const VkBufferCopy region{0, 0, bytes};
    vkCmdCopyBuffer(cb, from.buffer, to.buffer, 1, &region);
}

VkCommandBuffer begin_commands(Device &dv) {
    check(vkResetCommandBuffer(dv.command_buffer, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(dv.command_buffer, &begin), "vkBeginCommandBuffer");
    return dv.command_buffer;
}

void submit_and_wait(Device &dv, double multiply_adds, const MappedBuffer &read) {
    check(vkEndCommandBuffer(dv.command_buffer), "vkEndCommandBuffer");
    check(vkResetFences(dv.device, 1, &dv.fence), "vkResetFences");
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &dv.command_buffer;
    if (const VkResult injected = injected_fault(); injected != VK_SUCCESS) {
        if (injected == VK_ERROR_DEVICE_LOST) dv.broken = "device lost (injected)";
        fail("vkQueueSubmit (fault injected by COE_VULKAN_TEST_FAULT)", injected);
    }
    VkResult r = vkQueueSubmit(dv.queue, 1, &submit, dv.fence);
    if (r == VK_ERROR_DEVICE_LOST) dv.broken = "device lost";
    check(r, "vkQueueSubmit");
    const auto timeout_ns = static_cast<std::uint64_t>((5.0 + multiply_adds / 268435456.0) * 1e9);
    r = vkWaitForFences(dv.device, 1, &dv.fence, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT) {
        // the buffers may still be in use: keep them, never submit again
        dv.broken = "a dispatch did not finish in " + std::to_string(timeout_ns / 1000000000) + " s";
        throw status_error(COE_ERR_INTERNAL, "Vulkan dispatch timed out after " +
                                                 std::to_string(timeout_ns / 1000000000) + " s (device unusable now)");
    }
    if (r == VK_ERROR_DEVICE_LOST) dv.broken = "device lost";
    check(r, "vkWaitForFences");
    if (!read.coherent && read.mapped != nullptr) {
        VkMappedMemoryRange range{};
        range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
        range.memory = read.memory;
        range.size = VK_WHOLE_SIZE;
        check(vkInvalidateMappedMemoryRanges(dv.device, 1, &range), "vkInvalidateMappedMemoryRanges");
    }
}

const DeviceProbe &probe_device() {
    Device &dv = the_device();
    static std::once_flag once;
    std::call_once(once, [&] { probe_into(dv); });
    return dv.probe;
}

void canonical_dots(const float *rows, std::uint32_t n, std::uint32_t d, const DotsBlockSink &sink) {
    const DeviceProbe &probe = probe_device();
    if (!probe.usable) throw status_error(COE_ERR_UNSUPPORTED, "no Vulkan device: " + probe.why);
    Device &dv = the_device();
    const std::lock_guard<std::mutex> lock(dv.mutex);
    if (static_cast<std::uint64_t>(n) * n >= (std::uint64_t{1} << 32) ||
        static_cast<std::uint64_t>(n) * d >= (std::uint64_t{1} << 32))
        throw status_error(COE_ERR_UNSUPPORTED,
                           "too many vectors for one Vulkan call (n * n and n * d must be < 2^32)");
    const VkDeviceSize range = dv.properties.limits.maxStorageBufferRange;
    const VkDeviceSize rows_bytes = VkDeviceSize{n} * d * sizeof(float);
    const VkDeviceSize row_of_dots = VkDeviceSize{n} * sizeof(float);
    if (rows_bytes > range || row_of_dots > range)
        throw status_error(COE_ERR_UNSUPPORTED, "vectors exceed the Vulkan device's storage buffer range (" +
                                                    std::to_string(range >> 20) + " MiB)");
    ready_device(dv);
    const std::uint32_t block = rows_per_block(n);
    const VkDeviceSize dots_bytes = VkDeviceSize{block} * row_of_dots;
    std::memcpy(reserve_input(dv, dv.rows, dv.rows_up, rows_bytes).mapped, rows, rows_bytes);
    const auto *out = static_cast<const float *>(reserve_output(dv, dv.dots, dv.dots_down, dots_bytes).mapped);
    const MappedBuffer *buffers[2] = {&dv.rows, &dv.dots};
    const VkDeviceSize sizes[2] = {rows_bytes, dots_bytes};
    bind_buffers(dv, dv.dots_pipeline, buffers, sizes, 2);

    for (std::uint32_t row0 = 0; row0 < n; row0 += block) {
        const std::uint32_t rows_in_block = std::min(block, n - row0);
        dispatch_block(dv, n, d, row0, rows_in_block);
        sink(row0, rows_in_block, out);
    }
}

std::uint32_t rows_per_block(std::uint32_t n) {
    Device &dv = the_device();
    if (!probe_device().usable || n == 0) return 0;
    VkDeviceSize rows =
        std::min<VkDeviceSize>(n, dv.properties.limits.maxStorageBufferRange / (VkDeviceSize{n} * sizeof(float)));
    if (tuning().block_rows != 0) rows = std::min<VkDeviceSize>(rows, tuning().block_rows);
    return static_cast<std::uint32_t>(rows);
}

}  // namespace coe::vulkan
