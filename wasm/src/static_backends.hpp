// static_backends.hpp - the backends linked into a WebAssembly module.  A
// WebAssembly runtime cannot switch instruction sets inside one module, so
// each module runs one backend: the SIMD module its wasm_simd128 kernels,
// the scalar module the scalar reference (coe.mjs picks the module).
#pragma once

#include "plugins/backend.hpp"

namespace coe::wasm {

// The backend every analysis of this module runs on; built on first use
// from the statically linked descriptor, never destroyed.
const detail::Backend &module_backend();

}  // namespace coe::wasm
