// cpu_features.hpp - what the CPU and the operating system let us run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coe {

// Raw register values a probe reads; kept separate so the decoding can be
// tested with registers of machines we do not have.
struct CpuidRegisters {
    std::uint32_t max_leaf = 0;
    std::uint32_t leaf1_ecx = 0, leaf1_edx = 0;                 // cpuid(1)
    std::uint32_t leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0;  // cpuid(7, 0)
    std::uint64_t xcr0 = 0;                                     // xgetbv(0), 0 if OSXSAVE is off
};

// Turns registers into a COE_CPU_* mask.  AVX-class features count only if
// XCR0 says the OS saves the YMM state, AVX-512 ones only if it also saves
// the opmask and ZMM state.  Pure function.
std::uint64_t decode_cpu_features(const CpuidRegisters &regs);

// Probes this CPU (cpuid + xgetbv) once per call.  Thread-safe; never throws.
// On non-x86 machines it returns the features the compiler targets (NEON).
std::uint64_t probe_cpu_features();

// Lower-case names of the bits of `mask`, in bit order ("avx2", "avx512bw").
std::vector<std::string> cpu_feature_names(std::uint64_t mask);

// The bit for a name as cpu_feature_names() spells it, or nullopt.
std::optional<std::uint64_t> cpu_feature_from_name(std::string_view name);

}  // namespace coe
