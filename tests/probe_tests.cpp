// Plugins are tried out in a child process before they are loaded: the ones
// that exit, hang or crash there are rejected with where and how, never
// loaded into this process, and the engine runs on the others.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "coe/engine.hpp"
#include "coe/plugin_check.hpp"
#include "test_support.hpp"

using namespace coe;
using coe::test::isolated_options;
using coe::test::test_plugin;

namespace {

using coe::test::contains;
constexpr auto only = &coe::test::backend_with_file;

// The engine with one misbehaving plugin beside the built-in backends.
EngineOptions beside_builtins(const std::string &plugin, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    EngineOptions o = isolated_options({test_plugin(plugin), coe::test::backend_plugin_dir()});
    o.plugin_probe.timeout = timeout;
    return o;
}

Panel small_panel() {
    Panel p;
    p.question = "How should we retry?";
    p.responses = {
        {"a", "retry with exponential backoff and jitter", std::nullopt, std::nullopt, std::nullopt, {}},
        {"b", "use exponential backoff with jitter for retries", std::nullopt, std::nullopt, std::nullopt, {}},
        {"c", "switch vendors", std::nullopt, std::nullopt, std::nullopt, {}}};
    return p;
}

// The rejected plugin is not in this process, the best built-in serves, and a panel is analysed.
void check_engine_survives(const Engine &e, const std::string &plugin) {
    CHECK_FALSE(coe::test::is_mapped(test_plugin(plugin)));
    CHECK(e.active_backend() != only(e, plugin + ".so").name);
    const Report r = e.analyze(small_panel().view());
    CHECK(r.clusters.size() >= 1);
}

}  // namespace

TEST_CASE("a plugin that exits while loading is rejected with the reason; the engine runs on the others") {
    Engine e(beside_builtins("tp_exit_on_load"));
    const BackendInfo b = only(e, "tp_exit_on_load.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(b.reason == "terminated the process with status 0 during load");
    CHECK(b.name == "exits");  // from the manifest, read without running the plugin
    check_engine_survives(e, "tp_exit_on_load");
}

TEST_CASE("a plugin whose entry point or an operation never returns is rejected after the timeout, naming where") {
    const auto timeout = std::chrono::milliseconds(1500);
    {
        Engine e(beside_builtins("tp_hang_in_entry", timeout));
        CHECK(only(e, "tp_hang_in_entry.so").reason == "timed out after 1.5 s in its entry point");
        check_engine_survives(e, "tp_hang_in_entry");
    }
    {
        Engine e(beside_builtins("tp_hang_in_similarity", timeout));
        CHECK(only(e, "tp_hang_in_similarity.so").reason == "timed out after 1.5 s in coe.similarity/1");
        check_engine_survives(e, "tp_hang_in_similarity");
    }
}

TEST_CASE("a plugin that crashes in an operation is rejected naming the operation and the signal") {
    Engine e(beside_builtins("tp_crash_in_featurize"));
    CHECK(only(e, "tp_crash_in_featurize.so").reason == "crashed with signal 6 (Aborted) in coe.featurize/1");
    check_engine_survives(e, "tp_crash_in_featurize");
}

TEST_CASE("a good plugin passes the probe once per file version; the verdict is cached in memory and on disk") {
    const auto dir = std::filesystem::temp_directory_path() / ("coe-probe-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "tp_good.so";
    std::filesystem::copy_file(test_plugin("tp_good_a"), file);

    const BackendInfo first = only(Engine(isolated_options({dir})), "tp_good.so");
    CHECK(first.status != BackendStatus::rejected);
    CHECK(contains(first.probe, "passed a probe in a child process"));
    CHECK_FALSE(contains(first.probe, "cached"));
    CHECK(
        contains(only(Engine(isolated_options({dir})), "tp_good.so").probe, "(cached verdict for this file version)"));

    if (const char *cache = std::getenv("COE_CACHE_DIR")) {  // set by the test runner
        std::ifstream in(std::filesystem::path(cache) / "plugin-probes-2.tsv");
        std::stringstream text;
        text << in.rdbuf();
        CHECK(contains(text.str(), std::filesystem::weakly_canonical(file).string() + "|"));
    }

    // A new version installed by rename, as installers do, is a new identity: probed again.
    std::filesystem::copy_file(test_plugin("tp_good_b"), dir / "next.tmp");
    std::filesystem::rename(dir / "next.tmp", file);
    const BackendInfo second = only(Engine(isolated_options({dir})), "tp_good.so");
    CHECK(second.version == "2.0.0");
    CHECK_FALSE(contains(second.probe, "cached"));
    const std::string gone = std::filesystem::weakly_canonical(file).string() + "|";
    std::filesystem::remove_all(dir);

    // The verdicts of a file that is gone are dropped when the cache is next written.
    const auto other = dir.string() + "-other";
    std::filesystem::create_directories(other);
    std::filesystem::copy_file(test_plugin("tp_good_a"), other + "/tp_good.so");
    CHECK(only(Engine(isolated_options({other})), "tp_good.so").status != BackendStatus::rejected);
    if (const char *cache = std::getenv("COE_CACHE_DIR")) {
        std::ifstream in(std::filesystem::path(cache) / "plugin-probes-2.tsv");
        std::stringstream text;
        text << in.rdbuf();
        CHECK_FALSE(contains(text.str(), gone));
        CHECK(contains(text.str(), std::filesystem::weakly_canonical(other + "/tp_good.so").string() + "|"));
    }
    std::filesystem::remove_all(other);
}

TEST_CASE("without the helper: 'auto' loads and says so, 'required' rejects, 'off' does not probe") {
    EngineOptions o = isolated_options({test_plugin("tp_good_a")});
    o.plugin_probe.executable = "/nonexistent/coe-plugin-probe";
    {
        const BackendInfo b = only(Engine(o), "tp_good_a.so");
        CHECK(b.status != BackendStatus::rejected);
        CHECK(b.probe ==
              "loaded without a probe: the helper coe-plugin-probe was not found (looked at "
              "/nonexistent/coe-plugin-probe)");
    }
    o.plugin_probe.mode = PluginProbeMode::required;
    {
        const BackendInfo b = only(Engine(o), "tp_good_a.so");
        CHECK(b.status == BackendStatus::rejected);
        CHECK(contains(b.reason, "cannot be probed before loading: the helper coe-plugin-probe was not found"));
    }
    o.plugin_probe.mode = PluginProbeMode::off;
    CHECK(only(Engine(o), "tp_good_a.so").probe == "not probed (probing is off)");
}

TEST_CASE("the config file's plugin_probe applies, and its errors name the field") {
    const auto dir = std::filesystem::temp_directory_path();
    const auto config = dir / "coe-probe-test-config.json";
    std::ofstream(config)
        << R"({"plugin_probe": {"mode": "required", "executable": "no-such-helper", "timeout_ms": 900}})";
    EngineOptions o = isolated_options({test_plugin("tp_good_a")});
    o.config_file = config;
    const BackendInfo b = only(Engine(o), "tp_good_a.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(contains(b.reason, (dir / "no-such-helper").string()));  // relative to the config file

    std::ofstream(config) << R"({"plugin_probe": {"mode": "sometimes"}})";
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("plugin_probe.mode must be one of auto, required, off"),
                         coe::Error);
    std::ofstream(config) << R"({"plugin_probe": {"timeout": 5}})";
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("plugin_probe.timeout: unknown field"), coe::Error);
    std::filesystem::remove(config);
}

TEST_CASE("plugin check runs each operation in a child and names the one that crashed or hung") {
    PluginProbeOptions probe;
    probe.timeout = std::chrono::milliseconds(1500);
    const PluginCheck hang = check_plugin(test_plugin("tp_hang_in_similarity"), probe);
    CHECK(contains(hang.isolation, "child process"));
    // featurize/2, featurize/1, similarity/2, similarity/1, cluster/1, consensus/3, consensus/2, consensus/1,
    // aggregate/2, aggregate/1, embed_words/1
    REQUIRE(hang.operations.size() == 11);
    CHECK(hang.operations[0].operation == "coe.featurize/2");
    CHECK_FALSE(hang.operations[0].provided);  // a plugin built for coe.featurize/1 only
    CHECK(hang.operations[1].passed);
    CHECK(hang.operations[2].operation == "coe.similarity/2");
    CHECK_FALSE(hang.operations[2].provided);  // and coe.similarity/1 only
    CHECK_FALSE(hang.operations[3].passed);
    CHECK(hang.operations[3].detail == "timed out after 1.5 s in coe.similarity/1");
    CHECK_FALSE(hang.passed());

    const PluginCheck crash = check_plugin(test_plugin("tp_crash_in_featurize"), probe);
    CHECK(crash.operations[1].detail == "crashed with signal 6 (Aborted) in coe.featurize/1");
    CHECK(crash.operations[3].passed);

    const PluginCheck exits = check_plugin(test_plugin("tp_exit_on_load"), probe);
    CHECK(exits.plugin.status == BackendStatus::rejected);
    CHECK(exits.plugin.reason == "terminated the process with status 0 during load");

    const PluginCheck good = check_plugin(test_plugin("tp_good_a"), probe);
    CHECK(good.passed());
    for (const char *p : {"tp_hang_in_similarity", "tp_crash_in_featurize", "tp_exit_on_load"})
        CHECK_FALSE(coe::test::is_mapped(test_plugin(p)));
}
