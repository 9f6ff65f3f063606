#include "static_backends.hpp"

#include "coe/coe_plugin.h"
#include "plugins/plugin_loader.hpp"

extern "C" const coe_plugin_descriptor *coe_builtin_scalar_entry(uint16_t, uint16_t);
#ifdef COE_WASM_SIMD
extern "C" const coe_plugin_descriptor *coe_wasm_simd128_entry(uint16_t, uint16_t);
#endif

namespace coe {
namespace detail {

// The resilience chain's floor and shadow reference (plugins/plugin_loader.hpp):
// the scalar kernels, linked into every module.  The WebAssembly analysis calls
// its backend directly, without a chain, but the chain's code is linked with
// the analysis and names this.
LoadOutcome builtin_scalar_backend() {
    LoadOutcome o;
    const coe_plugin_descriptor *d = coe_builtin_scalar_entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    o.info.name = d->name;
    o.info.id = d->id;
    o.info.version = d->version;
    o.info.file = "<built-in>";
    o.info.source = "built-in";
    o.backend = std::make_shared<Backend>(d, nullptr);
    o.info.operations = o.backend->operation_names();
    o.info.score = 1;
    o.info.status = BackendStatus::available;
    return o;
}

}  // namespace detail

namespace wasm {

const detail::Backend &module_backend() {
#ifdef COE_WASM_SIMD
    static const detail::Backend backend(coe_wasm_simd128_entry(COE_ABI_MAJOR, COE_ABI_MINOR), nullptr);
#else
    static const detail::Backend backend(coe_builtin_scalar_entry(COE_ABI_MAJOR, COE_ABI_MINOR), nullptr);
#endif
    return backend;
}

}  // namespace wasm
}  // namespace coe
