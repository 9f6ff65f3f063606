// plugin_check.hpp - conformance of one plugin file against the built-in
// scalar reference (what `coe plugin check PATH` runs).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "coe/backend_info.hpp"
#include "coe/plugin_probe.hpp"

namespace coe {

struct OperationCheck {
    std::string operation;  // "coe.similarity/1"
    bool provided = false;  // false: the plugin leaves it to other backends
    bool passed = false;
    std::string detail;  // what failed, or what was compared
};

struct PluginCheck {
    BackendInfo plugin;                      // status rejected: it could not be loaded
    std::vector<OperationCheck> operations;  // every operation the engine knows
    std::string isolation;                   // where the plugin's code ran: child processes, or this one and why
    bool passed() const;                     // loaded, and every provided operation passed
};

// Loads `file` on its own (CPU requirements are checked first; a plugin this
// CPU cannot run is reported as rejected), validates its descriptor, and
// runs each operation it provides on a conformance suite: real and edge-case
// texts, sparse and dense vectors, clustering, metrics and aggregation
// inputs, plus inputs the operation must refuse.  Results must equal the
// scalar reference within the cross-backend contract (featurize and sparse
// similarity bit-identical, dense within 1e-5, discrete results equal).
//
// With the probe helper (coe/plugin_probe.hpp), the plugin is described by
// one child process and each operation is checked in a child of its own,
// with `options.timeout` per phase: a plugin that crashes, exits or hangs
// fails the check of the operation that did it ("crashed with signal 11
// (Segmentation fault) in coe.cluster", "timed out after 5 s in
// coe.similarity"), and the caller's process never runs plugin code.
// Without the helper (or with probing off) it all runs in this process,
// where a crash cannot be contained.  Never throws for a bad plugin.
PluginCheck check_plugin(const std::filesystem::path &file, const PluginProbeOptions &options = {});

}  // namespace coe
