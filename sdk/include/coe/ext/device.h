/*
 * coe/ext/device.h - the extension "coe.device/1" of the plugin ABI
 * (since ABI 1.5): which device a backend runs its operations on.
 *
 * Extensions.  A descriptor of ABI 1.5 or later may carry get_extension
 * (coe_plugin_descriptor, coe/coe_plugin.h).  The host calls it with an
 * extension id, a string "<name>/<revision>" such as COE_EXT_DEVICE, and gets
 * that extension's struct, or NULL when the plugin does not provide it.  An
 * extension tells the host something about the plugin; unlike an operation
 * it is never needed to serve a call, so a plugin without it (an older one,
 * or one whose descriptor has no get_extension) works as before.  Ids are
 * named as operation ids are (sdk/conventions/operation-id.md); a new
 * revision is a new id, asked for separately.
 *
 * coe.device/1.  A backend that runs operations on an accelerator (a GPU
 * through Vulkan, say) returns a coe_device_info naming that device.  The
 * engine uses the type to decide whether the backend may be chosen
 * automatically for large calls (a CPU-type device never is) and shows the
 * rest in `coe backends`.  A backend that runs on the host CPU does not
 * provide it.
 *
 * Ownership and lifetime.  The struct and its strings belong to the plugin
 * and stay valid, unchanged, until the library is unloaded (the host never
 * unloads a plugin that may still run); the host copies what it keeps.
 *
 * Threading.  get_extension may be called from any thread, at any time after
 * the entry point returned the descriptor; it must be cheap (no device work:
 * describe the device found when the entry point probed for it) and must not
 * throw.
 *
 * Versioning.  coe_device_info starts with struct_size, as every struct of
 * the ABI: a host reads only the fields within it, and fields are only ever
 * appended.  Type values are append-only too; a host treats one it does not
 * know as COE_DEVICE_TYPE_OTHER.
 *
 * This header needs only <stdint.h> and compiles on its own; it is not
 * included by coe/coe_plugin.h (include it where an extension is provided
 * or read).
 */
#ifndef COE_EXT_DEVICE_H
#define COE_EXT_DEVICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COE_EXT_DEVICE "coe.device/1" /* coe_device_info */

/* coe_device_info.type */
#define COE_DEVICE_TYPE_OTHER 0u          /* unknown, or none of the below     */
#define COE_DEVICE_TYPE_DISCRETE_GPU 1u   /* a GPU with memory of its own      */
#define COE_DEVICE_TYPE_INTEGRATED_GPU 2u /* a GPU sharing the host's memory   */
#define COE_DEVICE_TYPE_VIRTUAL_GPU 3u    /* a GPU behind a virtualisation layer */
#define COE_DEVICE_TYPE_CPU 4u            /* runs on the host CPU (e.g. lavapipe) */

typedef struct coe_device_info {
    uint32_t struct_size;  /* sizeof(coe_device_info) as the plugin knows it   */
    uint32_t type;         /* COE_DEVICE_TYPE_*                                */
    const char *name;      /* e.g. "NVIDIA H200"; never NULL (may be "")       */
    const char *driver;    /* e.g. "NVIDIA 550.54"; never NULL (may be "")     */
    uint64_t memory_bytes; /* the device's largest device-local heap; 0: unknown */
} coe_device_info;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COE_EXT_DEVICE_H */
