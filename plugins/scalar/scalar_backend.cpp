// The portable reference backend: plain C++ loops, baseline instruction set.
// Also compiled into the engine as the built-in floor (no COE_BACKEND_MODULE).
#define COE_BACKEND_ARCH coe::kernels::scalar_arch
#define COE_BACKEND_ID "coe.backend.scalar"
#define COE_BACKEND_NAME "scalar"
#define COE_BACKEND_FEATURES UINT64_C(0)
#define COE_BACKEND_SUMMARY "portable reference kernels, no SIMD"
#ifdef COE_BACKEND_MODULE
#define COE_BACKEND_ENTRY coe_plugin_entry
#else
#define COE_BACKEND_ENTRY coe_builtin_scalar_entry
#endif
#include "backend_definition.hpp"
