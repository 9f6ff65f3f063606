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
// The operations are the scalar reference kernels.
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
#ifndef TP_DESCRIPTOR_SIZE
#define TP_DESCRIPTOR_SIZE sizeof(coe_plugin_descriptor)
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
    return coe::sdk::guarded(call, [&] { return coe::kernels::featurize(coe::sdk::args_as<coe_featurize_args>(args)); });
}

coe_status tp_similarity(void *args, const coe_call *call) {
    return coe::sdk::guarded(call, [&] {
        return coe::kernels::similarity<coe::kernels::scalar_arch>(coe::sdk::args_as<coe_similarity_args>(args));
    });
}

constexpr coe_operation tp_op_featurize = {sizeof(coe_operation), 1, COE_OP_FEATURIZE, &tp_featurize};
constexpr coe_operation tp_op_similarity = {sizeof(coe_operation), 1, COE_OP_SIMILARITY, &tp_similarity};
#ifdef TP_ONLY_SIMILARITY
constexpr const coe_operation *tp_ops[] = {&tp_op_similarity};
#else
constexpr const coe_operation *tp_ops[] = {&tp_op_featurize, &tp_op_similarity};
#endif

constexpr coe_plugin_descriptor tp_descriptor = {
    static_cast<uint32_t>(TP_DESCRIPTOR_SIZE), COE_ABI_MAJOR, COE_ABI_MINOR, TP_ID, TP_NAME, TP_VERSION,
    "loader test plugin", TP_FEATURES, COE_THREAD_SAFETY_REENTRANT, sizeof tp_ops / sizeof tp_ops[0], tp_ops};

}  // namespace

extern "C" {

COE_MANIFEST_ATTRIBUTES const coe_plugin_manifest coe_plugin_manifest_data = {
    COE_MANIFEST_MAGIC, static_cast<uint32_t>(sizeof(coe_plugin_manifest)), TP_MANIFEST_ABI_MAJOR, 0,
    TP_FEATURES, TP_ID, TP_NAME, TP_VERSION};

#ifndef TP_NO_ENTRY
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t, uint16_t) { return &tp_descriptor; }
#endif
}
