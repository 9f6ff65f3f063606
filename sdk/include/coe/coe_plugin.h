/*
 * coe_plugin.h - the stable C ABI between the Circle of Experts engine (the
 * host) and its backend plugins.  C99, no dependencies beyond <stdint.h>.
 *
 * Layout.  This header is the core of the ABI: version, status codes, CPU
 * feature bits, the call frame (coe_call), the operation table entry
 * (coe_operation), the descriptor, the manifest and the entry symbol.  Each
 * operation's specification - its id macro, constants, argument struct and
 * the exact semantics every backend must follow - is in a header of its own,
 * coe/ops/<operation>.h (featurize, similarity, cluster, consensus,
 * aggregate).  The operation headers are leaves: they need nothing from this
 * core (their argument structs are plain <stdint.h> data) and include
 * nothing but <stdint.h>, and this header includes every one of them at its
 * end.  So the include graph has no cycle, an operation header also compiles
 * on its own, and including coe/coe_plugin.h, as plugins and hosts do, still
 * declares the whole ABI.  Naming rules for operation ids (third-party ones
 * included): sdk/conventions/operation-id.md.
 *
 * A plugin is a shared library that carries two things:
 *
 *   1. A manifest (coe_plugin_manifest) in the ELF section ".coe_manifest".
 *      The host reads it from the file WITHOUT loading the library, so it can
 *      reject a plugin whose ABI major or CPU requirements do not fit before
 *      any of the plugin's code (static initialisers included) runs.
 *      Declare it with COE_PLUGIN_MANIFEST(...).
 *   2. One exported function, COE_PLUGIN_ENTRY_SYMBOL, returning the plugin
 *      descriptor.  Every other symbol must be hidden.
 *
 * Versioning.  The ABI major must equal the host's; the minor is additive.
 * Every struct that crosses the boundary starts with uint32_t struct_size, so
 * each side can tell which fields the other one knows: a reader never touches
 * a field that lies beyond struct_size, and fills unknown trailing fields with
 * their documented defaults.  Structs and enumerations are append-only:
 * fields and values are never reordered, resized or removed.
 *
 * Memory.  The caller owns every buffer it passes.  A plugin writes results
 * only into caller-allocated outputs and frees whatever it allocates itself
 * before returning.  Strings and tables a descriptor points to are static:
 * they stay valid until the library is unloaded, and the host never unloads
 * a plugin that may still run.
 *
 * Errors.  Every operation returns a coe_status.  On failure it may copy a
 * NUL-terminated message into coe_call.error_message (host memory).  No C++
 * exception, STL type or RTTI crosses the boundary.
 *
 * Threading.  The descriptor's thread_safety says whether the host may call
 * operations concurrently (COE_THREAD_SAFETY_REENTRANT) or must serialise
 * them (COE_THREAD_SAFETY_SERIALIZED).
 */
#ifndef COE_PLUGIN_H
#define COE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define COE_ABI_MAJOR 1u
#define COE_ABI_MINOR 6u
/* What each ABI version added: sdk/CHANGELOG.md. */

/* Name of the one exported function of a plugin. */
#define COE_PLUGIN_ENTRY_SYMBOL "coe_plugin_entry"

/* ----------------------------------------------------------------- status */

typedef int32_t coe_status;
#define COE_OK 0                   /* success                                  */
#define COE_ERR_INVALID_ARGUMENT 1 /* a field of the arguments is out of range */
#define COE_ERR_BUFFER_TOO_SMALL \
    2                           /* an output buffer is too small; the
                                          operation reports the size it needs     */
#define COE_ERR_UNSUPPORTED 3   /* a flag or kind this plugin cannot do     */
#define COE_ERR_OUT_OF_MEMORY 4 /* scratch allocation failed                */
#define COE_ERR_INTERNAL 5      /* anything else; see the message           */

/* ------------------------------------------------------------ cpu features */

/* Bits of a uint64_t CPU feature mask.  A feature counts as present only if
 * the CPU reports it AND the operating system saves the registers it needs
 * (XCR0), so an AVX-512 CPU under an OS without AVX-512 state support has none
 * of the COE_CPU_AVX512* bits. */
#define COE_CPU_SSE2 (UINT64_C(1) << 0)
#define COE_CPU_SSE3 (UINT64_C(1) << 1)
#define COE_CPU_SSSE3 (UINT64_C(1) << 2)
#define COE_CPU_SSE41 (UINT64_C(1) << 3)
#define COE_CPU_SSE42 (UINT64_C(1) << 4)
#define COE_CPU_POPCNT (UINT64_C(1) << 5)
#define COE_CPU_AVX (UINT64_C(1) << 6)
#define COE_CPU_AVX2 (UINT64_C(1) << 7)
#define COE_CPU_FMA (UINT64_C(1) << 8)
#define COE_CPU_BMI1 (UINT64_C(1) << 9)
#define COE_CPU_BMI2 (UINT64_C(1) << 10)
#define COE_CPU_F16C (UINT64_C(1) << 11)
#define COE_CPU_AVX512F (UINT64_C(1) << 12)
#define COE_CPU_AVX512CD (UINT64_C(1) << 13)
#define COE_CPU_AVX512DQ (UINT64_C(1) << 14)
#define COE_CPU_AVX512BW (UINT64_C(1) << 15)
#define COE_CPU_AVX512VL (UINT64_C(1) << 16)
#define COE_CPU_AVX512VNNI (UINT64_C(1) << 17)
#define COE_CPU_AVX512FP16 (UINT64_C(1) << 18)
#define COE_CPU_NEON (UINT64_C(1) << 32)
/* Never set by any CPU; lets tests build a plugin no machine can run. */
#define COE_CPU_RESERVED_NEVER (UINT64_C(1) << 63)

/* ------------------------------------------------------------- call frame */

/* Passed by the host to every operation. */
typedef struct coe_call {
    uint32_t struct_size;    /* sizeof(coe_call) as the host knows it        */
    uint32_t error_capacity; /* bytes available at error_message (0: none)   */
    char *error_message;     /* host-owned; the plugin writes a NUL-terminated
                                 message here on failure, truncating to fit   */
} coe_call;

/* Every operation has this signature.  `args` points to the operation's own
 * argument struct (inputs and caller-owned outputs), which starts with
 * uint32_t struct_size. */
typedef coe_status (*coe_operation_fn)(void *args, const coe_call *call);

/* ------------------------------------------------------------- operations */

/* An operation is named by a string id and a revision.  A revision changes
 * when the argument struct changes incompatibly or the specified results
 * change; the host asks for the revision it speaks.  Adding an operation or
 * a revision never breaks a plugin: a plugin that provides only an older
 * revision keeps being called with it.  Each operation of this ABI (its id
 * macro COE_OP_*, constants and argument struct) is specified in
 * coe/ops/<operation>.h, included at the end of this header. */

/* coe_operation.flags (ABI 1.1; a 1.0 operation, whose struct_size ends
 * before `flags`, has none of them). */
/* The operation computes its stage with an algorithm of its own (say,
 * MinHash/Jaccard instead of TF-IDF cosine): its results are checked for
 * validity but never compared with the scalar reference (no shadow checks,
 * and `coe plugin check` compares shapes, not numbers). */
#define COE_OPERATION_OWN_ALGORITHM (1u << 0)

typedef struct coe_operation {
    uint32_t struct_size;
    uint32_t revision;
    const char *id; /* e.g. COE_OP_SIMILARITY                       */
    coe_operation_fn invoke;
    /* ABI 1.1 */
    uint32_t flags;     /* COE_OPERATION_*                              */
    uint32_t reserved0; /* must be 0                                    */
} coe_operation;

/* ------------------------------------------------------------- descriptor */

#define COE_THREAD_SAFETY_SERIALIZED 0u /* host serialises every call        */
#define COE_THREAD_SAFETY_REENTRANT 1u  /* any call from any thread, at once */

typedef struct coe_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major; /* COE_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;
    const char *id;                 /* unique, e.g. "coe.backend.avx2"         */
    const char *name;               /* short, e.g. "avx2"; used to select it   */
    const char *version;            /* the plugin's own version, e.g. "1.0.0"  */
    const char *description;        /* one line for people                     */
    uint64_t required_cpu_features; /* COE_CPU_* mask; equals the manifest's   */
    uint32_t thread_safety;         /* COE_THREAD_SAFETY_*                     */
    uint32_t operation_count;
    const coe_operation *const *operations; /* operation_count pointers           */
    /* ABI 1.5.  Optional (may be NULL; a 1.4 or older descriptor, whose
     * struct_size ends before it, has none): returns the struct of the
     * extension `extension_id` names (e.g. COE_EXT_DEVICE, coe/ext/device.h),
     * or NULL when the plugin does not provide it.  The struct is the
     * plugin's, valid until unload; callable from any thread once the entry
     * point has returned; cheap, and never throws.  Extensions describe a
     * plugin; no operation depends on them. */
    const void *(*get_extension)(const char *extension_id);
} coe_plugin_descriptor;

/* The entry point.  Receives the host's ABI version and returns the plugin's
 * static descriptor (valid until unload), or NULL to refuse the host.  It must
 * not do anything expensive and must not throw. */
typedef const coe_plugin_descriptor *(*coe_plugin_entry_fn)(uint16_t host_abi_major, uint16_t host_abi_minor);

/* Marks the entry function as the plugin's one exported symbol. */
#if defined(__GNUC__) || defined(__clang__)
#define COE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define COE_PLUGIN_EXPORT
#endif

/* --------------------------------------------------------------- manifest */

#define COE_MANIFEST_SECTION ".coe_manifest"
#define COE_MANIFEST_MAGIC "COEPLUG" /* 7 characters + NUL */

/* Plain data the host reads from the file without loading it. */
typedef struct coe_plugin_manifest {
    char magic[8];        /* COE_MANIFEST_MAGIC                 */
    uint32_t struct_size; /* sizeof(coe_plugin_manifest)        */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint64_t required_cpu_features; /* COE_CPU_* mask                     */
    char id[64];                    /* NUL-terminated, as the descriptor  */
    char name[32];
    char version[24];
} coe_plugin_manifest;

#if defined(__GNUC__) || defined(__clang__)
#define COE_MANIFEST_ATTRIBUTES __attribute__((section(COE_MANIFEST_SECTION), used, aligned(8)))
#else
#error "coe plugins need a compiler that can place data in a named section"
#endif

/* Declares the plugin's manifest.  Use once per plugin, at file scope. */
#define COE_PLUGIN_MANIFEST(id_, name_, version_, cpu_features_)                   \
    COE_MANIFEST_ATTRIBUTES const coe_plugin_manifest coe_plugin_manifest_data = { \
        COE_MANIFEST_MAGIC,                                                        \
        (uint32_t)sizeof(coe_plugin_manifest),                                     \
        (uint16_t)COE_ABI_MAJOR,                                                   \
        (uint16_t)COE_ABI_MINOR,                                                   \
        (cpu_features_),                                                           \
        id_,                                                                       \
        name_,                                                                     \
        version_}

#ifdef __cplusplus
} /* extern "C" */
#endif

/* -------------------------------------------------- operation specifications */

#include "coe/ops/featurize.h"
#include "coe/ops/similarity.h"
#include "coe/ops/cluster.h"
#include "coe/ops/consensus.h"
#include "coe/ops/aggregate.h"
#include "coe/ops/embed_words.h"

#endif /* COE_PLUGIN_H */
