// AVX-512 backend (F/CD/DQ/BW/VL, 512-bit lanes), F16C for binary16 word vectors.
#define COE_BACKEND_ARCH xsimd::avx512bw
#define COE_BACKEND_ID "coe.backend.avx512"
#define COE_BACKEND_NAME "avx512"
#define COE_BACKEND_FEATURES                                                                                           \
    (COE_CPU_AVX | COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_F16C | COE_CPU_AVX512F | COE_CPU_AVX512CD | COE_CPU_AVX512DQ | \
     COE_CPU_AVX512BW | COE_CPU_AVX512VL)
#define COE_BACKEND_SUMMARY "AVX-512 F/CD/DQ/BW/VL kernels, 16 floats per lane"
#define COE_BACKEND_ENTRY coe_plugin_entry
#include "backend_definition.hpp"
