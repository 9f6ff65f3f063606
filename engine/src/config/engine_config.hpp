// engine_config.hpp - the JSON config file and the environment variables.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace coe::detail {

// Contents of a config file:
//   {"backend": "avx2" | "auto",
//    "plugin_paths": ["dir-or-file", ...]}   (relative to the file's folder)
// Unknown keys are errors, so a typo never goes unnoticed.
struct ConfigFile {
    std::filesystem::path file;
    std::string backend;
    std::vector<std::filesystem::path> plugin_paths;
};

// Throws coe::Error naming the file, and the line or field at fault.
ConfigFile read_config_file(const std::filesystem::path &file);

// Splits a PATH-like list ("a:b:c"), dropping empty entries.
std::vector<std::filesystem::path> split_path_list(const std::string &list);

}  // namespace coe::detail
