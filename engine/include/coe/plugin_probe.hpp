// plugin_probe.hpp - how plugin files are tried out in a child process before
// the engine loads them into its own.
//
// Loading a plugin runs its code (static constructors, the entry point); a
// plugin that crashes, exits or hangs there would take the host with it.  So
// before a file version is loaded, the helper program `coe-plugin-probe`
// loads it in a child process, calls its entry point, validates the
// descriptor and makes one smoke call of each operation it provides, each
// phase under `timeout`.  A plugin that crashes, exits, hangs or fails there
// is rejected with that reason (`coe backends` shows it) and never loaded.
// Verdicts are cached by file identity (path, device, inode, size, mtime),
// in memory and in `<cache>/plugin-probes-2.tsv`, where <cache> is
// COE_CACHE_DIR, else $XDG_CACHE_HOME/coe, else $HOME/.cache/coe; so each
// file version is probed once, not at every start (a rebuilt or replaced
// file is a new version; delete the cache file to probe an unchanged one
// again).  The file is shared safely by concurrent processes (a lock, an
// atomic replace, a checksum per line).  `coe plugin check` never uses the
// cache.
//
// What a probe cannot contain: a plugin in process that crashes later, on
// real data, still takes the process down; plugins run isolated
// (coe/plugin_isolation.hpp) are not probed, since their worker process
// already contains them (docs/resilience.md).
#pragma once

#include <chrono>
#include <filesystem>

namespace coe {

enum class PluginProbeMode {
    automatic,  // probe when the helper is found; otherwise load unprobed and say so
    required,   // never load a plugin that was not probed: without the helper, reject it
    off,        // load plugins in-process without probing (trusted plugins only)
};

struct PluginProbeOptions {
    PluginProbeMode mode = PluginProbeMode::automatic;
    // Per phase (loading, the entry point, each smoke call).
    std::chrono::milliseconds timeout{5000};
    // The helper.  A host built with find_package(coe) defaults to the
    // package's (wherever the package was installed or moved).  Empty:
    // <libdir>/coe/coe-plugin-probe beside the engine's install location,
    // else the build tree's.  A named helper that is missing is not
    // replaced by another: see `mode`.
    std::filesystem::path executable =
#ifdef COE_PACKAGE_PLUGIN_DIR
        std::filesystem::path(COE_PACKAGE_PLUGIN_DIR).parent_path() / "coe-plugin-probe";
#else
        {};
#endif
    // Keep verdicts on disk between runs (they are always kept in memory).
    bool disk_cache = true;
};

}  // namespace coe
