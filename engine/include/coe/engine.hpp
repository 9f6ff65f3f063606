// engine.hpp - the public entry point of the Circle of Experts engine.
//
// An Engine probes the CPU, discovers and validates backend plugins, and
// activates the best one (or the one forced by the API, COE_BACKEND or the
// config file).  Construction does all of that once; reload_plugins() does
// it again and swaps the result in atomically; breakers and telemetry change
// under their own locks.  Every member function may be called from any
// number of threads at once.  Plugins are never unloaded while the process runs, so
// nothing an engine handed out can dangle.
//
// Errors: the constructor and the operations throw coe::Error with a message
// naming what is at fault.  Rejected plugins are not errors: they are listed
// by backends() with their reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coe/analysis.hpp"
#include "coe/backend_info.hpp"
#include "coe/device_routing.hpp"
#include "coe/error.hpp"
#include "coe/ops/embed_words.h"
#include "coe/panel.hpp"
#include "coe/panel_json.hpp"
#include "coe/plugin_isolation.hpp"
#include "coe/plugin_probe.hpp"
#include "coe/report.hpp"
#include "coe/resilience.hpp"
#include "coe/vectors.hpp"

namespace coe {

struct EngineOptions {
    // Plugin files or folders, searched before every other source.
    std::vector<std::filesystem::path> plugin_paths;
    // Backend name or id to force ("auto" or empty: best available).  Takes
    // precedence over COE_BACKEND and the config file.
    std::string backend;
    // JSON config file; if empty, COE_CONFIG is used when set.
    std::filesystem::path config_file;
    // Read COE_PLUGIN_PATH, COE_BACKEND, COE_CONFIG, COE_PLUGIN_ISOLATION and
    // the COE_DEVICE_ROUTING* variables.  Tests turn it off.
    bool use_environment = true;
    // Search the install location and the build tree.  Tests turn it off.
    bool use_default_locations = true;
    // Load device backends (the Vulkan backend) even when nothing requests
    // them by name; `coe backends` does, to name the device.  Off: a device
    // backend found is listed as not_loaded and costs nothing, since starting
    // a device (a driver, a JIT) takes longer than a whole small analysis.
    bool load_device_backends = false;
    // The plugin folder of the installed package, searched first among the
    // default locations.  A host built with find_package(coe) gets it from
    // the package (COE_PACKAGE_PLUGIN_DIR), wherever the package was
    // installed or moved to.
    std::filesystem::path package_plugin_dir =
#ifdef COE_PACKAGE_PLUGIN_DIR
        COE_PACKAGE_PLUGIN_DIR;
#else
        {};
#endif
    // CPU features to treat as absent (COE_CPU_* mask), for diagnostics and
    // tests: e.g. COE_CPU_AVX2 makes the engine behave as on an older CPU.
    std::uint64_t mask_cpu_features = 0;
    // How plugin files are tried out in a child process before they are
    // loaded.  A config file's "plugin_probe" key is applied on top of this.
    PluginProbeOptions plugin_probe;
    // Which plugin files run in a worker process (coe/plugin_isolation.hpp):
    // by default the package's own plugins run in process and every other
    // file in a worker.  Mode precedence: this field > COE_PLUGIN_ISOLATION >
    // the config file's "plugin_isolation" > auto; an unknown name in the
    // environment or the file is an error naming it.
    PluginIsolationOptions plugin_isolation;
    // Which dense similarity calls go to a device backend (a GPU) on their
    // own, by size (coe/device_routing.hpp).  Precedence for each setting:
    // this field > COE_DEVICE_ROUTING / COE_DEVICE_MIN_MULTIPLY_ADDS > the
    // config file's "device_routing" / "device_min_multiply_adds" > auto and
    // kDefaultDeviceMinMultiplyAdds; a bad value in the environment or the
    // file is an error naming it.  No routing when a backend is forced.
    DeviceRoutingOptions device_routing;
    // Breakers, chain, shadow checks, injected faults.  A config file's
    // "resilience" and "faults" keys are applied on top of this.
    ResilienceOptions resilience;
    // What compares answers when a call does not say (AnalysisOptions::
    // feature_kind); empty: the config file's "features", else automatic
    // (embeddings when every response has one, else word vectors when the
    // file is found, else TF-IDF; docs/analysis.md).
    std::optional<FeatureKind> features;
    // The word-vector file; empty: the config file's "word_vectors_file",
    // else the first found on the search path (coe/word_vectors.hpp).  It is
    // opened and validated when a panel first needs it, then shared.
    std::filesystem::path word_vectors_file;
};

class Engine {
public:
    // Discovers, validates and selects.  Throws coe::Error if the config is
    // invalid or a forced backend is unknown or cannot run on this CPU.
    explicit Engine(EngineOptions options = {});
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    // CPU features in effect (after mask_cpu_features), COE_CPU_* mask.
    std::uint64_t cpu_features() const;
    // Every candidate seen, in search order, the built-in scalar last (a
    // snapshot: a reload may change it).
    std::vector<BackendInfo> backends() const;
    // Name of the active backend.
    std::string active_backend() const;
    // Name of the backend that serves `operation` (e.g. "coe.similarity")
    // while its breaker is closed: the first of its chain.  Throws
    // coe::Error for an unknown operation.
    std::string backend_for(std::string_view operation) const;

    // The operations below run through the backend chain like the pipeline
    // (breakers, demotion, shadow checks).
    // coe.featurize on the backend serving it, at the revision its chain runs
    // (/2 with the built-in backends; /1 when the head provides only that).
    // Texts are read, not kept.
    SparseRows featurize(const std::vector<std::string_view> &texts, const FeaturizeOptions &options = {}) const;
    // coe.embed_words/1 on the backend serving it: one unit vector per text,
    // the weighted sum of the vectors of its words found in `table` (the
    // caller's, read during the call only, and valid as coe/ops/embed_words.h
    // says: the table is not read whole on each call).  Texts are read, not
    // kept.  Throws coe::Error when the table's dims is outside 1..4096 or
    // the backends refuse the table.
    WordEmbeddings embed_words(const std::vector<std::string_view> &texts, const coe_word_table &table) const;
    // coe.similarity/1 of sparse rows (e.g. from featurize).
    Matrix similarity(const SparseRows &rows) const;
    // coe.similarity/1 of `count` dense vectors of `dimension` floats, row-major.
    Matrix similarity(const float *vectors, std::uint32_t count, std::uint64_t dimension) const;

    // The consensus pipeline on one panel (see report.hpp).  The panel's
    // texts are read during the call only.  Throws coe::Error naming the
    // field of an invalid panel, or the backend and operation that failed.
    Report analyze(const PanelView &panel, const AnalysisOptions &options = {}) const;
    // The same into `report`, every field of which is rewritten while its
    // storage (strings, vectors, their elements) is reused: a caller that
    // keeps one Report per thread and analyses panel after panel allocates
    // nothing once the largest panel has been seen, because the pipeline's
    // intermediate results live in buffers each thread keeps (the thread
    // holds on to them, sized by the largest panel it analysed).  On an
    // error, `report` is valid but its contents are unspecified.
    void analyze_into(const PanelView &panel, Report &report, const AnalysisOptions &options = {}) const;

    // One result per panel, in input order: the report, or the error that
    // panel raised (the others are still analysed).
    struct BatchResult {
        std::optional<Report> report;
        std::string error;
    };
    // Called after each finished panel with (finished, total); calls are
    // serialised but may come from any worker thread.  If it throws, the
    // batch still finishes and the first exception is rethrown at the end.
    using Progress = std::function<void(std::size_t, std::size_t)>;
    // Analyses panels in parallel on `threads` OpenMP threads (0: all cores).
    std::vector<BatchResult> analyze_batch(const std::vector<PanelView> &panels, const AnalysisOptions &options = {},
                                           unsigned threads = 0, const Progress &progress = {}) const;

    // Streams panels through the analysis with at most `window` of them in
    // memory (0: four per thread), on `threads` worker threads (0: all
    // cores; 1: on the calling thread).  `next` supplies the inputs until it
    // returns nullopt; `emit` receives each input with its result, in input
    // order, as soon as it and every earlier one are done; an input that is
    // already an error passes through with that error.  Both are called on
    // the calling thread only.  If either throws, the panels in flight
    // finish and the exception is rethrown.
    using NextPanel = std::function<std::optional<PanelLine>()>;
    using EmitResult = std::function<void(const PanelLine &, const BatchResult &)>;
    void analyze_stream(const NextPanel &next, const EmitResult &emit, const AnalysisOptions &options = {},
                        unsigned threads = 0, std::size_t window = 0) const;

    // Discovers, validates and selects again (the config file is read again
    // too), then swaps the new set of plugins in atomically: new calls use
    // it, calls in flight finish on the old one, and no library is ever
    // unloaded.  A plugin file replaced on disk (by rename, as installers
    // do) is loaded anew.  Breakers start afresh; telemetry carries on.
    // Throws coe::Error (and keeps the current plugins) if the new set
    // cannot be used, e.g. a forced backend disappeared.
    void reload_plugins();
    // Polls the plugin files every `interval` and reloads when one appears,
    // disappears or changes; failed reloads are retried.  Stops when the
    // engine is destroyed; calling it again restarts it with a new interval.
    void watch_plugins(std::chrono::milliseconds interval = std::chrono::milliseconds(1000));

    // Everything the engine measured since it was built, as one JSON object:
    // per backend and operation calls, failures by class, latency
    // p50/p95/p99/max, operations per second over the last minute, shadow
    // timings and the time saved against scalar; the share served by
    // accelerated backends; each breaker's state and transitions; panels
    // answered, availability, buffer bytes per panel, peak RSS, uptime.
    std::string performance_report() const;
    // The same numbers in the Prometheus text exposition format.
    std::string performance_report_prometheus() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace coe
