// kernel_namespace.hpp - every kernel is compiled once per plugin with that
// plugin's ISA flags.  COE_KERNEL_NS (set by the build, e.g. avx2) puts each
// compilation in its own namespace so two copies can never be confused, even
// when two of them end up in one binary (the built-in scalar backend).
#pragma once

#ifndef COE_KERNEL_NS
#error "COE_KERNEL_NS must name the backend being compiled (set by cmake/CoePlugin.cmake)"
#endif

#define COE_KERNELS_BEGIN    \
    namespace coe::kernels { \
    inline namespace COE_KERNEL_NS {
#define COE_KERNELS_END \
    }                   \
    }
