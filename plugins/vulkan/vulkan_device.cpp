// vulkan_device.cpp - see vulkan_device.hpp.  The Vulkan objects (instance,
// device, pipeline, buffers) and the one call that dispatches the shader.
#include "vulkan_device.hpp"

#include <vulkan/vulkan.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "canonical_dots_spirv.h"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"

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

[[noreturn]] void fail(const char *what, VkResult r) {
    throw status_error(status_of(r), std::string("Vulkan ") + what + " failed: " + result_name(r) + " (" +
                                         std::to_string(static_cast<int>(r)) + ")");
}

void check(VkResult r, const char *what) {
    if (r != VK_SUCCESS) fail(what, r);
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

// A host-visible, coherent storage buffer, mapped for its whole life; grows,
// never shrinks.
struct MappedBuffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void *mapped = nullptr;
    VkDeviceSize size = 0;
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
    VkShaderModule shader = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout pipeline_layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
    VkDescriptorSet descriptor_set = VK_NULL_HANDLE;
    VkCommandPool command_pool = VK_NULL_HANDLE;
    VkCommandBuffer command_buffer = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    MappedBuffer rows, dots;
};

Device &the_device() {
    static Device *d = new Device;  // never destroyed: see vulkan_device.hpp
    return *d;
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

// The logical device, queue, pipeline and command objects.  Called with the
// mutex held.
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

    VkShaderModuleCreateInfo shader_info{};

    shader_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    shader_info.codeSize = sizeof(canonical_dots_spirv);
    shader_info.pCode = canonical_dots_spirv;
    check(vkCreateShaderModule(dv.device, &shader_info, nullptr, &dv.shader), "vkCreateShaderModule");

    VkDescriptorSetLayoutBinding bindings[2]{};
    for (std::uint32_t b = 0; b < 2; ++b) {
        bindings[b].binding = b;
        bindings[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[b].descriptorCount = 1;
        bindings[b].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo set_info{};
    set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    set_info.bindingCount = 2;
    set_info.pBindings = bindings;
    check(vkCreateDescriptorSetLayout(dv.device, &set_info, nullptr, &dv.set_layout), "vkCreateDescriptorSetLayout");

    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, 4 * sizeof(std::uint32_t)};
    VkPipelineLayoutCreateInfo layout_info{};
    layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &dv.set_layout;
    layout_info.pushConstantRangeCount = 1;
    layout_info.pPushConstantRanges = &push;
    check(vkCreatePipelineLayout(dv.device, &layout_info, nullptr, &dv.pipeline_layout), "vkCreatePipelineLayout");

    VkComputePipelineCreateInfo pipeline_info{};

    pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipeline_info.stage.module = dv.shader;
    pipeline_info.stage.pName = "main";
    pipeline_info.layout = dv.pipeline_layout;
    check(vkCreateComputePipelines(dv.device, VK_NULL_HANDLE, 1, &pipeline_info, nullptr, &dv.pipeline),
          "vkCreateComputePipelines");

    VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
    VkDescriptorPoolCreateInfo pool_info{};
    pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    pool_info.maxSets = 1;
    pool_info.poolSizeCount = 1;
    pool_info.pPoolSizes = &pool_size;
    check(vkCreateDescriptorPool(dv.device, &pool_info, nullptr, &dv.descriptor_pool), "vkCreateDescriptorPool");
    VkDescriptorSetAllocateInfo alloc_set{};
    alloc_set.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    alloc_set.descriptorPool = dv.descriptor_pool;
    alloc_set.descriptorSetCount = 1;
    alloc_set.pSetLayouts = &dv.set_layout;
    check(vkAllocateDescriptorSets(dv.device, &alloc_set, &dv.descriptor_set), "vkAllocateDescriptorSets");

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

void release(Device &dv, MappedBuffer &b) {
    if (b.mapped != nullptr) vkUnmapMemory(dv.device, b.memory);
    if (b.buffer != VK_NULL_HANDLE) vkDestroyBuffer(dv.device, b.buffer, nullptr);
    if (b.memory != VK_NULL_HANDLE) vkFreeMemory(dv.device, b.memory, nullptr);
    b = MappedBuffer{};
}

// Makes `b` at least `size` bytes (host-visible, coherent, mapped).
void reserve(Device &dv, MappedBuffer &b, VkDeviceSize size) {
    if (b.size >= size) return;
    release(dv, b);
    VkBufferCreateInfo buffer_info{};
    buffer_info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    buffer_info.size = size;
    buffer_info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    buffer_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(vkCreateBuffer(dv.device, &buffer_info, nullptr, &b.buffer), "vkCreateBuffer");
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dv.device, b.buffer, &req);
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    std::uint32_t type = UINT32_MAX;
    for (std::uint32_t t = 0; t < dv.memory_properties.memoryTypeCount && type == UINT32_MAX; ++t)
        if ((req.memoryTypeBits & (1u << t)) && (dv.memory_properties.memoryTypes[t].propertyFlags & want) == want)
            type = t;
    if (type == UINT32_MAX) {
        release(dv, b);
        throw status_error(COE_ERR_UNSUPPORTED, "Vulkan device has no host-visible coherent memory for buffers");
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
    if (VkResult r = vkMapMemory(dv.device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped); r != VK_SUCCESS) {
        b.mapped = nullptr;
        release(dv, b);
        fail("vkMapMemory", r);
    }
    b.size = size;
}

// COE_VULKAN_TEST_FAULT=lost|oom makes the next dispatch fail as a lost
// device or an exhausted device memory would (for the fault tests).
VkResult injected_fault() {
    const char *f = std::getenv("COE_VULKAN_TEST_FAULT");
    if (f == nullptr) return VK_SUCCESS;
    if (std::strcmp(f, "lost") == 0) return VK_ERROR_DEVICE_LOST;
    if (std::strcmp(f, "oom") == 0) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return VK_SUCCESS;
}

// Records and runs one block of rows; waits for it.  Called with the mutex held.
void dispatch_block(Device &dv, std::uint32_t n, std::uint32_t d, std::uint32_t row0, std::uint32_t rows_in_block) {
    check(vkResetCommandBuffer(dv.command_buffer, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(dv.command_buffer, &begin), "vkBeginCommandBuffer");
    vkCmdBindPipeline(dv.command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE, dv.pipeline);
    vkCmdBindDescriptorSets(dv.command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE, dv.pipeline_layout, 0, 1,
                            &dv.descriptor_set, 0, nullptr);
    const std::uint32_t shape[4] = {n, d, row0, rows_in_block};
    vkCmdPushConstants(dv.command_buffer, dv.pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof shape, shape);
    vkCmdDispatch(dv.command_buffer, (n + 15) / 16, (rows_in_block + 15) / 16, 1);
    VkMemoryBarrier to_host{};
    to_host.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    to_host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(dv.command_buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &to_host, 0, nullptr, 0, nullptr);
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
    // a few seconds plus time for the work at a slow device's pace (2^28
    // multiply-adds a second)
    const double work = static_cast<double>(rows_in_block) * n * d;
    const auto timeout_ns = static_cast<std::uint64_t>((5.0 + work / 268435456.0) * 1e9);
    r = vkWaitForFences(dv.device, 1, &dv.fence, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT) {
        // the buffers may still be in use: keep them, never submit again
        dv.broken = "a dispatch did not finish in " + std::to_string(timeout_ns / 1000000000) + " s";
        throw status_error(COE_ERR_INTERNAL, "Vulkan dispatch timed out after " +
                                                 std::to_string(timeout_ns / 1000000000) + " s (device unusable now)");
    }
    if (r == VK_ERROR_DEVICE_LOST) dv.broken = "device lost";
    check(r, "vkWaitForFences");
}

}  // namespace

const DeviceProbe &probe_device() {
    Device &dv = the_device();
    static std::once_flag once;
    std::call_once(once, [&] { probe_into(dv); });
    return dv.probe;
}

void canonical_dots(const float *rows, std::uint32_t n, std::uint32_t d, float *dots) {
    const DeviceProbe &probe = probe_device();
    if (!probe.usable) throw status_error(COE_ERR_UNSUPPORTED, "no Vulkan device: " + probe.why);
    Device &dv = the_device();
    const std::lock_guard<std::mutex> lock(dv.mutex);
    if (!dv.broken.empty()) throw status_error(COE_ERR_INTERNAL, "Vulkan device unusable: " + dv.broken);
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
    if (!dv.ready) {
        try {
            make_ready(dv);
        } catch (const status_error &e) {  // never retried: a half-made device is not made twice
            dv.broken = e.what();
            throw;
        }
    }
    const auto block = static_cast<std::uint32_t>(std::min<VkDeviceSize>(n, range / row_of_dots));
    reserve(dv, dv.rows, rows_bytes);
    reserve(dv, dv.dots, VkDeviceSize{block} * row_of_dots);
    std::memcpy(dv.rows.mapped, rows, rows_bytes);

    VkDescriptorBufferInfo buffers[2] = {{dv.rows.buffer, 0, rows_bytes},
                                         {dv.dots.buffer, 0, VkDeviceSize{block} * row_of_dots}};
    VkWriteDescriptorSet writes[2]{};
    for (std::uint32_t b = 0; b < 2; ++b) {
        writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        writes[b].dstSet = dv.descriptor_set;
        writes[b].dstBinding = b;
        writes[b].descriptorCount = 1;
        writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[b].pBufferInfo = &buffers[b];
    }
    vkUpdateDescriptorSets(dv.device, 2, writes, 0, nullptr);

    const auto *out = static_cast<const float *>(dv.dots.mapped);
    for (std::uint32_t row0 = 0; row0 < n; row0 += block) {
        const std::uint32_t rows_in_block = std::min(block, n - row0);
        dispatch_block(dv, n, d, row0, rows_in_block);
        for (std::uint32_t r = 0; r < rows_in_block; ++r) {
            const std::uint64_t i = row0 + r;  // the upper triangle of row i: columns i .. n - 1
            std::memcpy(dots + i * n + i, out + std::uint64_t{r} * n + i, (n - i) * sizeof(float));
        }
    }
}

}  // namespace coe::vulkan
