/* Compiled as strict C99 by a test: the ABI header must stay plain C. */
#include "coe/coe_plugin.h"
#include "coe/ext/device.h"

#include <string.h>

COE_PLUGIN_MANIFEST("c99.check", "c99", "1.0.0", COE_CPU_SSE2);

static coe_status c99_similarity(void *args, const coe_call *call) {
    coe_similarity_args *a = (coe_similarity_args *)args;
    (void)call;
    return a->struct_size >= sizeof *a ? COE_OK : COE_ERR_INVALID_ARGUMENT;
}

static const coe_device_info c99_device = {sizeof(coe_device_info), COE_DEVICE_TYPE_CPU, "host", "", 0};

static const void *c99_get_extension(const char *id) {
    return strcmp(id, COE_EXT_DEVICE) == 0 ? (const void *)&c99_device : NULL;
}

static const coe_operation c99_op = {sizeof(coe_operation), 1, COE_OP_SIMILARITY, c99_similarity, 0, 0};
static const coe_operation *const c99_ops[] = {&c99_op};
static const coe_plugin_descriptor c99_descriptor = {sizeof(coe_plugin_descriptor),
                                                     COE_ABI_MAJOR,
                                                     COE_ABI_MINOR,
                                                     "c99.check",
                                                     "c99",
                                                     "1.0.0",
                                                     "strict C99 check",
                                                     COE_CPU_SSE2,
                                                     COE_THREAD_SAFETY_REENTRANT,
                                                     1,
                                                     c99_ops,
                                                     c99_get_extension};

COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t major, uint16_t minor) {
    (void)minor;
    return major == COE_ABI_MAJOR ? &c99_descriptor : NULL;
}
