// isolation_policy.hpp - which plugin files run in a worker process, and
// the worker program that runs them (coe/plugin_isolation.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "coe/plugin_isolation.hpp"

namespace coe::detail {

struct PluginCandidate;

// Immutable after construction; thread-safe.
class IsolationPolicy {
public:
    // `own_folders`: where the package's own plugins live (its install and
    // build-tree plugin folders); in automatic mode, files there run in
    // process and every other file runs isolated.
    IsolationPolicy(PluginIsolation mode, PluginIsolationOptions options,
                    std::vector<std::filesystem::path> own_folders);

    bool isolates(const PluginCandidate &candidate) const;
    PluginIsolation mode() const { return mode_; }
    const PluginIsolationOptions &options() const { return options_; }
    // The worker program, or empty when none was found (then worker_problem()).
    const std::filesystem::path &worker() const { return worker_; }
    const std::string &worker_problem() const { return worker_problem_; }

private:
    PluginIsolation mode_;
    PluginIsolationOptions options_;
    std::vector<std::filesystem::path> own_folders_;  // canonical
    std::filesystem::path worker_;
    std::string worker_problem_;
};

}  // namespace coe::detail
