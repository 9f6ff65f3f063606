// plugin_probe.hpp - the parent's side of probing a plugin file in a child
// process before it is loaded (see coe/plugin_probe.hpp for the contract).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "coe/backend_info.hpp"
#include "coe/plugin_check.hpp"
#include "coe/plugin_probe.hpp"
#include "probe_child.hpp"

namespace coe::detail {

struct ProbeVerdict {
    bool admitted = true;
    std::string reason;  // why not admitted
    std::string note;    // how the verdict was reached, for BackendInfo::probe
};

// Immutable after construction; admit() is thread-safe (verdicts are shared
// by every prober of the process through one cache).
class PluginProber {
public:
    explicit PluginProber(PluginProbeOptions options);

    // May `file` be loaded into this process?  `load_from` is what would be
    // loaded (the file itself, or a private copy of a new version of it).
    // Uses a cached verdict for this file identity when there is one.
    ProbeVerdict admit(const std::filesystem::path &file, const std::filesystem::path &load_from) const;

    // Loads `file` in a child and describes it, without calling any
    // operation.  `info.status` is rejected (with reason) or available.
    BackendInfo describe(const std::filesystem::path &file) const;
    // Runs the conformance check of one operation (e.g. "coe.similarity")
    // in a child; a crash or a hang is a failed check naming it.
    OperationCheck check_operation(const std::filesystem::path &file, const std::string &operation) const;

    // The helper, or empty when none was found (then `helper_problem()`).
    const std::filesystem::path &helper() const { return helper_; }
    const std::string &helper_problem() const { return helper_problem_; }
    const PluginProbeOptions &options() const { return options_; }

private:
    ChildOutcome run(const std::vector<std::string> &args) const;
    // nullopt when the helper could not be run (`error` says why).
    std::optional<ProbeVerdict> probe(const std::filesystem::path &load_from, std::string &error) const;

    PluginProbeOptions options_;
    std::filesystem::path helper_;
    std::string helper_problem_;
};

// The helper's phase names in words: "during load", "in its entry point",
// "in coe.similarity".
std::string phase_in_words(const std::string &phase);

}  // namespace coe::detail
