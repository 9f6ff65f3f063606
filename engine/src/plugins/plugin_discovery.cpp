#include "plugin_discovery.hpp"

#include "config/package_location.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <system_error>

namespace coe::detail {
namespace {

bool looks_like_shared_object(const std::filesystem::path &p) {
    const std::string name = p.filename().string();
    return name.size() > 3 && (name.compare(name.size() - 3, 3, ".so") == 0 || name.find(".so.") != std::string::npos);
}

void add_path(const std::filesystem::path &path, const std::string &source, bool report_missing,
              std::vector<PluginCandidate> &out, std::set<std::filesystem::path> &seen) {
    std::error_code ec;
    auto add_file = [&](const std::filesystem::path &f) {
        std::error_code e;
        auto key = std::filesystem::weakly_canonical(f, e);
        if (e) key = f;
        if (seen.insert(key).second) out.push_back({f, source});
    };
    if (std::filesystem::is_directory(path, ec)) {
        std::vector<std::filesystem::path> files;
        for (const auto &entry : std::filesystem::directory_iterator(path, ec))
            if (entry.is_regular_file(ec) && looks_like_shared_object(entry.path())) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto &f : files) add_file(f);
    } else if (std::filesystem::exists(path, ec) || report_missing) {
        add_file(path);
    }
}

}  // namespace

std::vector<std::pair<std::filesystem::path, std::string>> default_plugin_folders() {
    std::vector<std::pair<std::filesystem::path, std::string>> folders;
    const std::filesystem::path bin = engine_binary_folder();
    if (bin.empty()) return folders;
    // <prefix>/lib/libcoe... -> <prefix>/lib/coe/plugins; <prefix>/bin/coe -> <prefix>/lib/coe/plugins
    folders.emplace_back(bin / "coe" / "plugins", "install");
    folders.emplace_back(bin.parent_path() / "lib" / "coe" / "plugins", "install");
#ifdef COE_INSTALL_PLUGIN_DIR
    // where `cmake --install` put the plugins, for hosts installed elsewhere
    folders.emplace_back(COE_INSTALL_PLUGIN_DIR, "install");
#endif
#ifdef COE_BUILD_TREE_PLUGIN_DIR
    // Only a binary that itself lives in the build tree looks there.
    if (runs_from_build_tree(bin)) folders.emplace_back(COE_BUILD_TREE_PLUGIN_DIR, "build-tree");
#endif
    return folders;
}

std::vector<PluginCandidate> discover_plugins(const SearchSources &s) {
    std::vector<PluginCandidate> out;
    std::set<std::filesystem::path> seen;
    for (const auto &p : s.api) add_path(p, "api", true, out, seen);
    for (const auto &p : s.environment) add_path(p, "COE_PLUGIN_PATH", true, out, seen);
    for (const auto &p : s.config) add_path(p, "config", true, out, seen);
    if (!s.package.empty()) add_path(s.package, "package", false, out, seen);
    if (s.default_locations) {
        for (const auto &[folder, source] : default_plugin_folders()) add_path(folder, source, false, out, seen);
    }
    return out;
}

}  // namespace coe::detail
