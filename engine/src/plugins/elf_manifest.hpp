// elf_manifest.hpp - reads a plugin's manifest straight from its file, so a
// plugin can be judged (ABI, CPU requirements) before any of its code runs.
#pragma once

#include <filesystem>
#include <string>
#include <variant>

#include "coe/coe_plugin.h"

namespace coe::detail {

// Either the manifest, or a sentence saying why there is none ("not an ELF
// file", "no .coe_manifest section: not a coe plugin", ...).  Reads only;
// never loads the library; never throws.
std::variant<coe_plugin_manifest, std::string> read_plugin_manifest(const std::filesystem::path &file);

}  // namespace coe::detail
