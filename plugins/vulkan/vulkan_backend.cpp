// vulkan_backend.cpp - the Vulkan backend's operation table, descriptor and
// entry point.
//
// Every operation of the built-in backends, at the same revisions, so this
// is a complete backend: the dense matrix of coe.similarity/2
// (dense_similarity.cpp) and the sums of coe.embed_words/1
// (embed_words_on_device.cpp) run on the Vulkan device; everything else
// runs the shared scalar kernels on the CPU inside the plugin.
//
// Loading.  Nothing runs at load time.  The entry point probes for a Vulkan
// device once (instance and physical devices only) and returns NULL when
// there is none, so the host rejects the plugin and runs on the CPU.  The
// descriptor's description names the device, and so does the extension
// coe.device/1 (coe/ext/device.h), whose struct says what kind of device it
// is (the engine routes large calls only to a GPU); both are written once,
// by the first entry call, before the descriptor is returned.
#include <cstdio>
#include <cstring>
#include <mutex>

#include "aggregate_kernel.hpp"
#include "cluster_kernel.hpp"
#include "coe/coe_plugin.h"
#include "coe/ext/device.h"
#include "coe/plugin_helper.hpp"
#include "consensus_kernel.hpp"
#include "dense_similarity.hpp"
#include "embed_words_on_device.hpp"
#include "featurize_kernel.hpp"
#include "similarity_kernel.hpp"
#include "vulkan_device.hpp"

#ifndef COE_VERSION
#error "COE_VERSION must be defined by the build"
#endif

#define COE_VULKAN_ID "coe.backend.vulkan"
#define COE_VULKAN_NAME "vulkan"

namespace {

namespace kernels = coe::kernels;
namespace sdk = coe::sdk;
using kernels::scalar_arch;

coe_status featurize_v1(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::featurize<1>(sdk::args_as<coe_featurize_args>(args)); });
}

coe_status featurize_v2(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::featurize<2, false>(sdk::args_as<coe_featurize_args>(args)); });
}

coe_status similarity_v1(void *args, const coe_call *call) {
    return sdk::guarded(call,
                        [&] { return kernels::similarity<scalar_arch, 1>(sdk::args_as<coe_similarity_args>(args)); });
}

coe_status similarity_v2(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return coe::vulkan::similarity_v2(sdk::args_as<coe_similarity_args>(args)); });
}

coe_status cluster(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::cluster(sdk::args_as<coe_cluster_args>(args)); });
}

coe_status consensus_v1(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::consensus<1>(sdk::args_as<coe_consensus_args>(args)); });
}

coe_status consensus_v2(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::consensus<2>(sdk::args_as<coe_consensus_args>(args)); });
}

coe_status consensus_v3(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::consensus<3>(sdk::args_as<coe_consensus_args>(args)); });
}

coe_status aggregate_v1(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::aggregate<1>(sdk::args_as<coe_aggregate_args>(args)); });
}

coe_status aggregate_v2(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return kernels::aggregate<2>(sdk::args_as<coe_aggregate_args>(args)); });
}

coe_status embed_words(void *args, const coe_call *call) {
    return sdk::guarded(call, [&] { return coe::vulkan::embed_words(sdk::args_as<coe_embed_words_args>(args)); });
}

constexpr coe_operation operation(std::uint32_t revision, const char *id, coe_operation_fn invoke) {
    return {sizeof(coe_operation), revision, id, invoke, 0, 0};
}

constexpr coe_operation op_featurize_v1 = operation(1, COE_OP_FEATURIZE, &featurize_v1);
constexpr coe_operation op_featurize_v2 = operation(2, COE_OP_FEATURIZE, &featurize_v2);
constexpr coe_operation op_similarity_v1 = operation(1, COE_OP_SIMILARITY, &similarity_v1);
constexpr coe_operation op_similarity_v2 = operation(2, COE_OP_SIMILARITY, &similarity_v2);
constexpr coe_operation op_cluster = operation(1, COE_OP_CLUSTER, &cluster);
constexpr coe_operation op_consensus_v1 = operation(1, COE_OP_CONSENSUS, &consensus_v1);
constexpr coe_operation op_consensus_v2 = operation(2, COE_OP_CONSENSUS, &consensus_v2);
constexpr coe_operation op_consensus_v3 = operation(3, COE_OP_CONSENSUS, &consensus_v3);
constexpr coe_operation op_aggregate_v1 = operation(1, COE_OP_AGGREGATE, &aggregate_v1);
constexpr coe_operation op_aggregate_v2 = operation(2, COE_OP_AGGREGATE, &aggregate_v2);
constexpr coe_operation op_embed_words = operation(1, COE_OP_EMBED_WORDS, &embed_words);
constexpr const coe_operation *operations[] = {&op_featurize_v2, &op_featurize_v1, &op_similarity_v2, &op_similarity_v1,
                                               &op_cluster,      &op_consensus_v3, &op_consensus_v2,  &op_consensus_v1,
                                               &op_aggregate_v2, &op_aggregate_v1, &op_embed_words};

// Filled once by the entry point (under call_once) before the descriptor
// that points to it is first returned; read-only afterwards.
char description[256] = "Vulkan compute";
// Likewise: coe.device/1, pointing into the probe (which lives as long as
// the library).
coe_device_info device_info = {sizeof(coe_device_info), COE_DEVICE_TYPE_OTHER, "", "", 0};

// Called only with the descriptor in hand, i.e. after the entry point
// filled device_info.
const void *get_extension(const char *extension_id) {
    if (extension_id != nullptr && std::strcmp(extension_id, COE_EXT_DEVICE) == 0) return &device_info;
    return nullptr;
}

constexpr coe_plugin_descriptor descriptor = {sizeof(coe_plugin_descriptor),
                                              COE_ABI_MAJOR,
                                              COE_ABI_MINOR,
                                              COE_VULKAN_ID,
                                              COE_VULKAN_NAME,
                                              COE_VERSION,
                                              description,
                                              0,
                                              COE_THREAD_SAFETY_REENTRANT,
                                              sizeof(operations) / sizeof(operations[0]),
                                              operations,
                                              &get_extension};

}  // namespace

extern "C" {
COE_PLUGIN_MANIFEST(COE_VULKAN_ID, COE_VULKAN_NAME, COE_VERSION, 0);

// Returns NULL (the host rejects the plugin) when no Vulkan device with a
// compute queue exists, or when the host's ABI major differs.
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t host_abi_major, uint16_t) {
    if (host_abi_major != COE_ABI_MAJOR) return nullptr;
    static std::once_flag once;
    static bool usable = false;
    try {
        std::call_once(once, [] {
            const coe::vulkan::DeviceProbe &probe = coe::vulkan::probe_device();
            usable = probe.usable;
            if (!usable) return;
            std::snprintf(description, sizeof description, "%s", probe.summary.c_str());
            device_info.type = probe.type;
            device_info.name = probe.name.c_str();
            device_info.driver = probe.driver.c_str();
            device_info.memory_bytes = probe.memory_bytes;
        });
    } catch (...) {  // nothing may escape the C entry point
        return nullptr;
    }
    return usable ? &descriptor : nullptr;
}
}
