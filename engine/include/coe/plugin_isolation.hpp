// plugin_isolation.hpp - where a plugin's code runs: in the engine's own
// process, or in a resident worker process of its own.
//
// A plugin in process is called directly: no cost, but a plugin that crashes
// on real data takes the host down with it, and one that hangs holds the
// calling thread for good.  An isolated plugin is loaded by the helper
// program `coe-plugin-worker` (beside `coe-plugin-probe`), one worker per
// plugin file, started when the plugin is loaded and kept running.  Each
// call is sent to it over a socket, with the call's inputs and outputs in
// memory shared with it; a crash of the worker, or no answer within
// `call_timeout` (the worker is then killed), is a failed call: the
// backend chain serves it from the next backend, the breaker counts it,
// the report says `degraded` and why, and a new worker is started on the
// next call (after a pause that doubles from 50 ms up to 5 s while workers
// keep failing before they answered any call).  docs/resilience.md gives the measured cost per call.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>

namespace coe {

enum class PluginIsolation {
    automatic,   // "auto": the package's own plugins (its install or build-tree plugin folder) in
                 // process; every other file (api paths, COE_PLUGIN_PATH, config) in a worker
    in_process,  // "in_process": every plugin in the engine's process
    process,     // "process": every plugin file in a worker process (the built-in scalar stays in)
};

// "auto", "in_process", "process".
const char *to_string(PluginIsolation mode);
// The mode a name stands for, or nullopt for any other text.
std::optional<PluginIsolation> plugin_isolation_from_string(std::string_view name);

struct PluginIsolationOptions {
    // Empty: COE_PLUGIN_ISOLATION when set (and EngineOptions::use_environment),
    // else the config file's "plugin_isolation", else automatic.
    std::optional<PluginIsolation> mode;
    // How long one call (or a worker's start) may take before the worker is
    // killed and the call fails.  A config file's "plugin_call_timeout_ms"
    // replaces it.
    std::chrono::milliseconds call_timeout{5000};
    // The worker program.  Empty: coe-plugin-worker beside the engine's
    // plugin folders (install location, else the build tree).  A named
    // program that is missing is not replaced by another: the plugins that
    // would run isolated are rejected with that reason.
    std::filesystem::path executable =
#ifdef COE_PACKAGE_PLUGIN_DIR
        std::filesystem::path(COE_PACKAGE_PLUGIN_DIR).parent_path() / "coe-plugin-worker";
#else
        {};
#endif
};

}  // namespace coe
