// descriptor_validation.hpp - checks a descriptor returned by a plugin's entry
// point before the engine trusts any pointer in it.
#pragma once

#include <string>

#include "coe/coe_plugin.h"

namespace coe::detail {

// Empty if `d` is well-formed and agrees with `manifest` (nullptr: built-in
// backend, no manifest); otherwise the reason it is not.  Never throws.
std::string validate_descriptor(const coe_plugin_descriptor *d, const coe_plugin_manifest *manifest);

// "abi 2.0 > host 1.1": both versions, when `major` differs from the host's.
std::string abi_mismatch_reason(unsigned major, unsigned minor);

}  // namespace coe::detail
