// A configurable plugin for loader tests.  One source, many builds; each
// build sets some of these macros (see tests/CMakeLists.txt):
//   TP_ID, TP_NAME, TP_VERSION   identity
//   TP_FEATURES                  required COE_CPU_* mask
//   TP_MANIFEST_ABI_MAJOR        ABI major written into the manifest
//   TP_DESCRIPTOR_SIZE           descriptor struct_size to report
//   TP_NO_ENTRY                  do not define the entry symbol
//   TP_ABORT_ON_LOAD             abort() from a static initialiser: if the
//                                engine ever loads this file, the test dies
//   TP_ONLY_SIMILARITY           provide coe.similarity alone (a plugin that
//                                replaces one stage and inherits the others)
//   TP_ABI_1_0                   built as for ABI 1.0: operation structs end
//                                before the 1.1 `flags` field
//   TP_ABI_1_4                   built as for ABI 1.4: the descriptor ends
//                                before the 1.5 `get_extension` field
//   TP_NEWER_MINOR               built as for a future ABI 1.9: descriptor and
//                                operations carry fields this host never saw
//   TP_OWN_ALGORITHM             coe.similarity declares an algorithm of its own
//                                (and computes a different, still valid, matrix)
//   TP_SUBTLY_WRONG              coe.similarity adds 0.03 off the diagonal: a
//                                plausible bug, valid output, wrong from call 1
//   TP_EXIT_ON_LOAD              _exit(0) from a static initialiser
//   TP_HANG_IN_ENTRY             the entry point never returns
//   TP_HANG_IN_SIMILARITY        coe.similarity never returns
//   TP_CRASH_IN_FEATURIZE        coe.featurize aborts the process
// (the last four must only ever run in the probe's child process)
// The operations are the scalar reference kernels.
#include <cstdint>
#include <cstdlib>

#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "featurize_kernel.hpp"
#include "similarity_kernel.hpp"

#ifndef TP_VERSION
#define TP_VERSION "1.0.0"
#endif
#ifndef TP_FEATURES
#define TP_FEATURES UINT64_C(0)
#endif
#ifndef TP_MANIFEST_ABI_MAJOR
#define TP_MANIFEST_ABI_MAJOR COE_ABI_MAJOR
#endif
#if defined(TP_ABI_1_0)
#define TP_ABI_MINOR 0
#elif defined(TP_ABI_1_4)
#define TP_ABI_MINOR 4
#elif defined(TP_NEWER_MINOR)
#define TP_ABI_MINOR 9
#else
#define TP_ABI_MINOR COE_ABI_MINOR
#endif

#if defined(TP_HANG_IN_ENTRY) || defined(TP_HANG_IN_SIMILARITY)
#include <chrono>
#include <thread>
namespace {
[[noreturn]] void hang() {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
}  // namespace
#endif

#ifdef TP_EXIT_ON_LOAD
#include <unistd.h>
namespace {
struct ExitOnLoad {
    ExitOnLoad() { _exit(0); }
} exit_on_load;
}  // namespace
#endif

#ifdef TP_ABORT_ON_LOAD
namespace {
struct AbortOnLoad {
    AbortOnLoad() { std::abort(); }
} abort_on_load;
}  // namespace
#endif

namespace {

coe_status tp_featurize(void *args, const coe_call *call) {
#ifdef TP_CRASH_IN_FEATURIZE
    std::abort();
#endif
    return coe::sdk::guarded(call,
                             [&] { return coe::kernels::featurize<1>(coe::sdk::args_as<coe_featurize_args>(args)); });
}

coe_status tp_similarity(void *args, const coe_call *call) {
#ifdef TP_HANG_IN_SIMILARITY
    hang();
#endif
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::similarity<coe::kernels::scalar_arch>(coe::sdk::args_as<coe_similarity_args>(args));
    });
}

#ifdef TP_SUBTLY_WRONG
coe_status tp_wrong_similarity(void *args, const coe_call *call) {
    const coe_status status = tp_similarity(args, call);
    if (status != COE_OK) return status;
    auto *a = static_cast<coe_similarity_args *>(args);
    for (std::uint32_t i = 0; i < a->count; ++i)
        for (std::uint32_t j = 0; j < a->count; ++j)
            if (i != j && a->out[i * a->out_stride + j] <= 0.97f) a->out[i * a->out_stride + j] += 0.03f;
    return COE_OK;
}
#endif

#ifdef TP_OWN_ALGORITHM
// "Another algorithm": half the cosine.  Symmetric, within [-1, 1], 1 on the diagonal.
coe_status tp_own_similarity(void *args, const coe_call *call) {
    const coe_status status = tp_similarity(args, call);
    if (status != COE_OK) return status;
    auto *a = static_cast<coe_similarity_args *>(args);
    for (std::uint32_t i = 0; i < a->count; ++i)
        for (std::uint32_t j = 0; j < a->count; ++j)
            if (i != j) a->out[i * a->out_stride + j] *= 0.5f;
    return COE_OK;
}
#define TP_SIMILARITY_FN &tp_own_similarity
#define TP_SIMILARITY_FLAGS COE_OPERATION_OWN_ALGORITHM
#elif defined(TP_SUBTLY_WRONG)
#define TP_SIMILARITY_FN &tp_wrong_similarity
#define TP_SIMILARITY_FLAGS 0u
#else
#define TP_SIMILARITY_FN &tp_similarity
#define TP_SIMILARITY_FLAGS 0u
#endif

#if defined(TP_ABI_1_0)
// The 1.0 layout: separate objects, so that reading past one is caught by ASan.
struct operation_1_0 {
    uint32_t struct_size;
    uint32_t revision;
    const char *id;
    coe_operation_fn invoke;
};
const operation_1_0 tp_op_featurize = {sizeof(operation_1_0), 1, COE_OP_FEATURIZE, &tp_featurize};
const operation_1_0 tp_op_similarity = {sizeof(operation_1_0), 1, COE_OP_SIMILARITY, TP_SIMILARITY_FN};
const coe_operation *const tp_ops[] = {reinterpret_cast<const coe_operation *>(&tp_op_featurize),
                                       reinterpret_cast<const coe_operation *>(&tp_op_similarity)};
#elif defined(TP_NEWER_MINOR)
struct operation_1_9 {
    coe_operation base;
    std::uint64_t added_in_1_9;
};
const operation_1_9 tp_op_featurize = {{sizeof(operation_1_9), 1, COE_OP_FEATURIZE, &tp_featurize, 0, 0}, 0xfeedull};
const operation_1_9 tp_op_similarity = {
    {sizeof(operation_1_9), 1, COE_OP_SIMILARITY, TP_SIMILARITY_FN, TP_SIMILARITY_FLAGS, 0}, 0xfeedull};
const coe_operation *const tp_ops[] = {&tp_op_featurize.base, &tp_op_similarity.base};
#else
const coe_operation tp_op_featurize = {sizeof(coe_operation), 1, COE_OP_FEATURIZE, &tp_featurize, 0, 0};
const coe_operation tp_op_similarity = {sizeof(coe_operation), 1, COE_OP_SIMILARITY, TP_SIMILARITY_FN,
                                        TP_SIMILARITY_FLAGS,   0};
#ifdef TP_ONLY_SIMILARITY
const coe_operation *const tp_ops[] = {&tp_op_similarity};
#else
const coe_operation *const tp_ops[] = {&tp_op_featurize, &tp_op_similarity};
#endif
#endif

#ifndef TP_DESCRIPTOR_SIZE
#define TP_DESCRIPTOR_SIZE sizeof(tp_descriptor_type)
#endif

#if defined(TP_ABI_1_4)
// The 1.4 layout, a separate type: ends before get_extension, so that
// reading past it is caught by ASan.
struct descriptor_1_4 {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *id, *name, *version, *description;
    uint64_t required_cpu_features;
    uint32_t thread_safety;
    uint32_t operation_count;
    const coe_operation *const *operations;
};
struct tp_descriptor_type {
    descriptor_1_4 base;
};
#elif defined(TP_NEWER_MINOR)
struct tp_descriptor_type {
    coe_plugin_descriptor base;
    std::uint64_t added_in_1_9;
    const char *also_added_in_1_9;
};
#else
struct tp_descriptor_type {
    coe_plugin_descriptor base;
};
#endif

// get_extension (ABI 1.5): none, and no such field in the 1.4 layout
#if defined(TP_ABI_1_4)
#define TP_GET_EXTENSION
#else
#define TP_GET_EXTENSION , nullptr
#endif
const tp_descriptor_type tp_descriptor = {
    {static_cast<uint32_t>(TP_DESCRIPTOR_SIZE), COE_ABI_MAJOR, TP_ABI_MINOR, TP_ID, TP_NAME, TP_VERSION,
     "loader test plugin", TP_FEATURES, COE_THREAD_SAFETY_REENTRANT, sizeof tp_ops / sizeof tp_ops[0],
     tp_ops TP_GET_EXTENSION}
#ifdef TP_NEWER_MINOR
    ,
    0xfeedull,
    "a field from the future"
#endif
};

}  // namespace

extern "C" {

COE_MANIFEST_ATTRIBUTES const coe_plugin_manifest coe_plugin_manifest_data = {
    COE_MANIFEST_MAGIC,
    static_cast<uint32_t>(sizeof(coe_plugin_manifest)),
    TP_MANIFEST_ABI_MAJOR,
    TP_ABI_MINOR,
    TP_FEATURES,
    TP_ID,
    TP_NAME,
    TP_VERSION};

#ifndef TP_NO_ENTRY
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t, uint16_t) {
#ifdef TP_HANG_IN_ENTRY
    hang();
#endif
    return reinterpret_cast<const coe_plugin_descriptor *>(&tp_descriptor.base);
}
#endif
}
