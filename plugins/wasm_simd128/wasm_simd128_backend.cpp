// WebAssembly SIMD backend (128-bit lanes, 4 floats), linked into the
// WebAssembly module (wasm/).  xsimd 8 has no wasm architecture, so the
// kernels are instantiated for xsimd's sse4_1 and compiled with emscripten's
// -msimd128 -msse4.1, which turns every SSE intrinsic into WebAssembly SIMD
// instructions.  No FMA: a*b+c rounds twice, as in the scalar reference.
#define COE_BACKEND_ARCH xsimd::sse4_1
#define COE_BACKEND_ID "coe.backend.wasm_simd128"
#define COE_BACKEND_NAME "wasm_simd128"
#define COE_BACKEND_FEATURES UINT64_C(0)
#define COE_BACKEND_SUMMARY "WebAssembly SIMD kernels (xsimd sse4_1 through emscripten), 4 floats per lane"
#define COE_BACKEND_ENTRY coe_wasm_simd128_entry
#include "backend_definition.hpp"
