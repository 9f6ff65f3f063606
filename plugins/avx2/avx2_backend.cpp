// AVX2 + FMA backend (256-bit lanes), F16C for binary16 word vectors.
#define COE_BACKEND_ARCH xsimd::fma3<xsimd::avx2>
#define COE_BACKEND_ID "coe.backend.avx2"
#define COE_BACKEND_NAME "avx2"
#define COE_BACKEND_FEATURES (COE_CPU_AVX | COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_F16C)
#define COE_BACKEND_SUMMARY "AVX2 + FMA + F16C kernels, 8 floats per lane"
#define COE_BACKEND_ENTRY coe_plugin_entry
#include "backend_definition.hpp"
