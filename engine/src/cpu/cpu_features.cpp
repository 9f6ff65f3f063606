// CPU feature probe: cpuid for what the CPU has, xgetbv(XCR0) for what the
// OS saves on context switch.
#include "coe/cpu_features.hpp"

#include <array>
#include <utility>

#include "coe/coe_plugin.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define COE_X86 1
#endif

namespace coe {
namespace {

constexpr std::array<std::pair<std::uint64_t, const char *>, 20> feature_table{{
    {COE_CPU_SSE2, "sse2"},
    {COE_CPU_SSE3, "sse3"},
    {COE_CPU_SSSE3, "ssse3"},
    {COE_CPU_SSE41, "sse4.1"},
    {COE_CPU_SSE42, "sse4.2"},
    {COE_CPU_POPCNT, "popcnt"},
    {COE_CPU_AVX, "avx"},
    {COE_CPU_AVX2, "avx2"},
    {COE_CPU_FMA, "fma"},
    {COE_CPU_BMI1, "bmi1"},
    {COE_CPU_BMI2, "bmi2"},
    {COE_CPU_F16C, "f16c"},
    {COE_CPU_AVX512F, "avx512f"},
    {COE_CPU_AVX512CD, "avx512cd"},
    {COE_CPU_AVX512DQ, "avx512dq"},
    {COE_CPU_AVX512BW, "avx512bw"},
    {COE_CPU_AVX512VL, "avx512vl"},
    {COE_CPU_AVX512VNNI, "avx512vnni"},
    {COE_CPU_AVX512FP16, "avx512fp16"},
    {COE_CPU_NEON, "neon"},
}};

constexpr bool bit(std::uint32_t reg, int n) { return (reg >> n) & 1u; }

// XCR0 bits: 1 SSE, 2 AVX (YMM upper halves), 5 opmask, 6 ZMM_Hi256, 7 Hi16_ZMM.
constexpr std::uint64_t xcr0_avx = (1u << 1) | (1u << 2);
constexpr std::uint64_t xcr0_avx512 = xcr0_avx | (1u << 5) | (1u << 6) | (1u << 7);

}  // namespace

std::uint64_t decode_cpu_features(const CpuidRegisters &r) {
    std::uint64_t f = 0;
    if (r.max_leaf < 1) return f;
    auto set = [&f](bool on, std::uint64_t b) {
        if (on) f |= b;
    };
    set(bit(r.leaf1_edx, 26), COE_CPU_SSE2);
    set(bit(r.leaf1_ecx, 0), COE_CPU_SSE3);
    set(bit(r.leaf1_ecx, 9), COE_CPU_SSSE3);
    set(bit(r.leaf1_ecx, 19), COE_CPU_SSE41);
    set(bit(r.leaf1_ecx, 20), COE_CPU_SSE42);
    set(bit(r.leaf1_ecx, 23), COE_CPU_POPCNT);

    const bool osxsave = bit(r.leaf1_ecx, 27);
    const bool os_avx = osxsave && (r.xcr0 & xcr0_avx) == xcr0_avx;
    const bool os_avx512 = osxsave && (r.xcr0 & xcr0_avx512) == xcr0_avx512;
    const bool leaf7 = r.max_leaf >= 7;

    if (os_avx) {
        set(bit(r.leaf1_ecx, 28), COE_CPU_AVX);
        set(bit(r.leaf1_ecx, 12), COE_CPU_FMA);
        set(bit(r.leaf1_ecx, 29), COE_CPU_F16C);
        set(leaf7 && bit(r.leaf7_ebx, 5), COE_CPU_AVX2);
    }
    set(leaf7 && bit(r.leaf7_ebx, 3), COE_CPU_BMI1);
    set(leaf7 && bit(r.leaf7_ebx, 8), COE_CPU_BMI2);
    if (os_avx512 && leaf7 && bit(r.leaf7_ebx, 16)) {
        f |= COE_CPU_AVX512F;
        set(bit(r.leaf7_ebx, 28), COE_CPU_AVX512CD);
        set(bit(r.leaf7_ebx, 17), COE_CPU_AVX512DQ);
        set(bit(r.leaf7_ebx, 30), COE_CPU_AVX512BW);
        set(bit(r.leaf7_ebx, 31), COE_CPU_AVX512VL);
        set(bit(r.leaf7_ecx, 11), COE_CPU_AVX512VNNI);
        set(bit(r.leaf7_edx, 23), COE_CPU_AVX512FP16);
    }
    return f;
}

std::uint64_t probe_cpu_features() {
#ifdef COE_X86
    CpuidRegisters r;
    unsigned a = 0, b = 0, c = 0, d = 0;
    r.max_leaf = __get_cpuid_max(0, nullptr);
    if (r.max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
        r.leaf1_ecx = c;
        r.leaf1_edx = d;
    }
    if (r.max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        r.leaf7_ebx = b;
        r.leaf7_ecx = c;
        r.leaf7_edx = d;
    }
    if (bit(r.leaf1_ecx, 27)) {  // OSXSAVE: xgetbv is allowed
        std::uint32_t lo = 0, hi = 0;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        r.xcr0 = (static_cast<std::uint64_t>(hi) << 32) | lo;
    }
    return decode_cpu_features(r);
#elif defined(__ARM_NEON) || defined(__aarch64__)
    return COE_CPU_NEON;
#else
    return 0;
#endif
}

std::vector<std::string> cpu_feature_names(std::uint64_t mask) {
    std::vector<std::string> names;
    for (const auto &[b, name] : feature_table)
        if (mask & b) names.emplace_back(name);
    if (mask & COE_CPU_RESERVED_NEVER) names.emplace_back("reserved-never");
    return names;
}

std::optional<std::uint64_t> cpu_feature_from_name(std::string_view name) {
    for (const auto &[b, n] : feature_table)
        if (name == n) return b;
    if (name == "reserved-never") return COE_CPU_RESERVED_NEVER;
    return std::nullopt;
}

}  // namespace coe
