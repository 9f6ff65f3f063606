#include "isolation_policy.hpp"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "plugin_discovery.hpp"
#include "plugin_loader.hpp"

namespace coe {

const char *to_string(PluginIsolation mode) {
    switch (mode) {
    case PluginIsolation::automatic: return "auto";
    case PluginIsolation::in_process: return "in_process";
    case PluginIsolation::process: return "process";
    }
    return "auto";
}

std::optional<PluginIsolation> plugin_isolation_from_string(std::string_view name) {
    if (name == "auto") return PluginIsolation::automatic;
    if (name == "in_process") return PluginIsolation::in_process;
    if (name == "process") return PluginIsolation::process;
    return std::nullopt;
}

namespace detail {
namespace {

constexpr const char *worker_name = "coe-plugin-worker";

std::filesystem::path canonical_or_self(const std::filesystem::path &p) {
    std::error_code ec;
    auto c = std::filesystem::weakly_canonical(p, ec);
    return ec ? p : c;
}

}  // namespace

IsolationPolicy::IsolationPolicy(PluginIsolation mode, PluginIsolationOptions options,
                                 std::vector<std::filesystem::path> own_folders)
    : mode_(mode), options_(std::move(options)) {
    for (const auto &f : own_folders)
        if (!f.empty()) own_folders_.push_back(canonical_or_self(f));
    if (mode_ == PluginIsolation::in_process) return;
    std::vector<std::filesystem::path> tried;
    if (!options_.executable.empty()) tried.push_back(options_.executable);  // named: that one or none
    else
        for (const auto &[folder, source] : default_plugin_folders())
            tried.push_back(folder.parent_path() / worker_name);
    for (const auto &p : tried) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0) {
            worker_ = p;
            return;
        }
    }
    worker_problem_ = std::string("the worker program ") + worker_name + " was not found (looked at";
    for (const auto &p : tried) worker_problem_ += " " + p.string();
    worker_problem_ += tried.empty() ? " nothing)" : ")";
}

bool IsolationPolicy::isolates(const PluginCandidate &c) const {
    switch (mode_) {
    case PluginIsolation::in_process: return false;
    case PluginIsolation::process: return true;
    case PluginIsolation::automatic: break;
    }
    const std::filesystem::path folder = canonical_or_self(c.file).parent_path();
    return std::find(own_folders_.begin(), own_folders_.end(), folder) == own_folders_.end();
}

}  // namespace detail
}  // namespace coe
