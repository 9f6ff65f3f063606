// plugin_discovery.hpp - the ordered list of files that may be plugins.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "plugin_loader.hpp"

namespace coe::detail {

struct SearchSources {
    std::vector<std::filesystem::path> api;          // EngineOptions::plugin_paths
    std::vector<std::filesystem::path> environment;  // COE_PLUGIN_PATH
    std::vector<std::filesystem::path> config;       // config file plugin_paths
    bool default_locations = true;                   // install location, then build tree
    std::filesystem::path package;                   // the installed package's plugins (EngineOptions)
};

// Candidates in precedence order: api > COE_PLUGIN_PATH > config > install
// location > build tree.  A folder contributes its *.so files in name order;
// a file is taken as given.  A missing explicit path is kept (it will be
// reported as "file not found"); missing default folders are skipped.  The
// current directory is never searched unless a source names it.  The same
// file reached twice is listed once, at its first place.
std::vector<PluginCandidate> discover_plugins(const SearchSources &sources);

// Folders the install location and the build tree stand for, in order,
// each with its source label ("install", "build-tree").
std::vector<std::pair<std::filesystem::path, std::string>> default_plugin_folders();

}  // namespace coe::detail
