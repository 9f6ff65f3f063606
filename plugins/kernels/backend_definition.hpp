// backend_definition.hpp - the operation table and descriptor of a built-in
// backend, instantiated once per plugin for that plugin's architecture.
//
// Include after defining:
//   COE_BACKEND_ARCH      xsimd architecture type, or coe::kernels::scalar_arch
//   COE_BACKEND_ID        e.g. "coe.backend.avx2"
//   COE_BACKEND_NAME      e.g. "avx2"
//   COE_BACKEND_FEATURES  COE_CPU_* mask the code was compiled for
//   COE_BACKEND_SUMMARY   one line for people
//   COE_BACKEND_ENTRY     name of the entry function to define
// and, when building a loadable module, COE_BACKEND_MODULE (adds the manifest
// and exports the entry).  Everything here is constant-initialised: no code
// of this backend runs when its library is loaded.
#pragma once

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "aggregate_kernel.hpp"
#include "cluster_kernel.hpp"
#include "consensus_kernel.hpp"
#include "embed_words_kernel.hpp"
#include "featurize_kernel.hpp"
#include "similarity_kernel.hpp"

#ifndef COE_VERSION
#error "COE_VERSION must be defined by the build"
#endif

namespace {

coe_status coe_backend_featurize_v1(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::featurize<1>(coe::sdk::args_as<coe_featurize_args>(args)); });
}

coe_status coe_backend_featurize_v2(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::featurize<2, !coe::kernels::is_scalar_v<COE_BACKEND_ARCH>>(
            coe::sdk::args_as<coe_featurize_args>(args));
    });
}

coe_status coe_backend_similarity_v1(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::similarity<COE_BACKEND_ARCH, 1>(coe::sdk::args_as<coe_similarity_args>(args));
    });
}

coe_status coe_backend_similarity_v2(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::similarity<COE_BACKEND_ARCH, 2>(coe::sdk::args_as<coe_similarity_args>(args));
    });
}

coe_status coe_backend_cluster(void *args, const coe_call *call) {
    return coe::sdk::guarded(
        call, [&] { return coe::kernels::cluster<COE_BACKEND_ARCH>(coe::sdk::args_as<coe_cluster_args>(args)); });
}

coe_status coe_backend_consensus_v1(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::consensus<1>(coe::sdk::args_as<coe_consensus_args>(args)); });
}

coe_status coe_backend_consensus_v2(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::consensus<2>(coe::sdk::args_as<coe_consensus_args>(args)); });
}

coe_status coe_backend_consensus_v3(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::consensus<3>(coe::sdk::args_as<coe_consensus_args>(args)); });
}

coe_status coe_backend_aggregate_v1(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::aggregate<1>(coe::sdk::args_as<coe_aggregate_args>(args)); });
}

coe_status coe_backend_aggregate_v2(void *args, const coe_call *call) {
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::aggregate<2>(coe::sdk::args_as<coe_aggregate_args>(args)); });
}

coe_status coe_backend_embed_words(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::embed_words<COE_BACKEND_ARCH>(coe::sdk::args_as<coe_embed_words_args>(args));
    });
}

// An operation of this backend's table (no flags).
constexpr coe_operation coe_backend_operation(std::uint32_t revision, const char *id, coe_operation_fn invoke) {
    return {sizeof(coe_operation), revision, id, invoke, 0, 0};
}

constexpr coe_operation coe_backend_op_featurize_v1 =
    coe_backend_operation(1, COE_OP_FEATURIZE, &coe_backend_featurize_v1);
constexpr coe_operation coe_backend_op_featurize_v2 =
    coe_backend_operation(2, COE_OP_FEATURIZE, &coe_backend_featurize_v2);
constexpr coe_operation coe_backend_op_similarity_v1 =
    coe_backend_operation(1, COE_OP_SIMILARITY, &coe_backend_similarity_v1);
constexpr coe_operation coe_backend_op_similarity_v2 =
    coe_backend_operation(2, COE_OP_SIMILARITY, &coe_backend_similarity_v2);
constexpr coe_operation coe_backend_op_cluster = coe_backend_operation(1, COE_OP_CLUSTER, &coe_backend_cluster);
constexpr coe_operation coe_backend_op_consensus_v1 =
    coe_backend_operation(1, COE_OP_CONSENSUS, &coe_backend_consensus_v1);
constexpr coe_operation coe_backend_op_consensus_v2 =
    coe_backend_operation(2, COE_OP_CONSENSUS, &coe_backend_consensus_v2);
constexpr coe_operation coe_backend_op_consensus_v3 =
    coe_backend_operation(3, COE_OP_CONSENSUS, &coe_backend_consensus_v3);
constexpr coe_operation coe_backend_op_aggregate_v1 =
    coe_backend_operation(1, COE_OP_AGGREGATE, &coe_backend_aggregate_v1);
constexpr coe_operation coe_backend_op_aggregate_v2 =
    coe_backend_operation(2, COE_OP_AGGREGATE, &coe_backend_aggregate_v2);
constexpr coe_operation coe_backend_op_embed_words =
    coe_backend_operation(1, COE_OP_EMBED_WORDS, &coe_backend_embed_words);
constexpr const coe_operation *coe_backend_operations[] = {
    &coe_backend_op_featurize_v2,  &coe_backend_op_featurize_v1, &coe_backend_op_similarity_v2,
    &coe_backend_op_similarity_v1, &coe_backend_op_cluster,      &coe_backend_op_consensus_v3,
    &coe_backend_op_consensus_v2,  &coe_backend_op_consensus_v1, &coe_backend_op_aggregate_v2,
    &coe_backend_op_aggregate_v1,  &coe_backend_op_embed_words};

constexpr coe_plugin_descriptor coe_backend_descriptor = {
    sizeof(coe_plugin_descriptor),
    COE_ABI_MAJOR,
    COE_ABI_MINOR,
    COE_BACKEND_ID,
    COE_BACKEND_NAME,
    COE_VERSION,
    COE_BACKEND_SUMMARY,
    COE_BACKEND_FEATURES,
    COE_THREAD_SAFETY_REENTRANT,
    sizeof(coe_backend_operations) / sizeof(coe_backend_operations[0]),
    coe_backend_operations,
    nullptr};  // no extension: a CPU backend

}  // namespace

#ifdef COE_BACKEND_MODULE
extern "C" {
COE_PLUGIN_MANIFEST(COE_BACKEND_ID, COE_BACKEND_NAME, COE_VERSION, COE_BACKEND_FEATURES);
COE_PLUGIN_EXPORT const coe_plugin_descriptor *COE_BACKEND_ENTRY(uint16_t, uint16_t) { return &coe_backend_descriptor; }
}
#else
extern "C" const coe_plugin_descriptor *COE_BACKEND_ENTRY(uint16_t, uint16_t) { return &coe_backend_descriptor; }
#endif
