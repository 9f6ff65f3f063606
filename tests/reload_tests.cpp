// Hot reload: a user plugin's file is replaced while analyses run.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <cstdlib>
#include <thread>

#include "coe/coe_plugin.h"
#include "coe/engine.hpp"
#include "test_support.hpp"

using namespace coe;
namespace fs = std::filesystem;

namespace {

// A folder holding user.so, replaced the way installers do it: write a new
// file beside it, then rename it over the old one.
struct PluginFolder {
    fs::path dir;
    explicit PluginFolder(const std::string &name) : dir(fs::temp_directory_path() / ("coe-reload-" + name)) {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~PluginFolder() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path plugin() const { return dir / "user.so"; }
    void install(const std::string &test_plugin) const {
        const fs::path staged = dir / "user.so.new";
        fs::copy_file(coe::test::test_plugin(test_plugin), staged, fs::copy_options::overwrite_existing);
        fs::rename(staged, plugin());
    }
};

std::string version_of(const Engine &e, const std::string &name) {
    for (const auto &b : e.backends())
        if (b.name == name && b.status != BackendStatus::rejected) return b.version;
    return "absent";
}

Panel small_panel() {
    Panel p;
    p.responses = {{"a", "use argon2 with a salt", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"b", "use argon2 with a random salt", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"c", "deploy kubernetes clusters", std::nullopt, std::nullopt, std::nullopt, {}}};
    return p;
}

}  // namespace

TEST_CASE("reload_plugins picks up a replaced plugin file; a failed reload keeps the plugins in use") {
    PluginFolder folder("replace");
    folder.install("tp_good_a");  // version 1.0.0
    Engine e(coe::test::isolated_options({folder.dir}, "testgood"));
    CHECK(version_of(e, "testgood") == "1.0.0");
    folder.install("tp_good_b");                  // version 2.0.0, same id and name
    CHECK(version_of(e, "testgood") == "1.0.0");  // nothing changes until asked
    e.reload_plugins();
    CHECK(version_of(e, "testgood") == "2.0.0");
    const Panel p = small_panel();
    CHECK(e.analyze(p.view()).served_by.at(COE_OP_SIMILARITY) == "testgood");

    fs::remove(folder.plugin());
    CHECK_THROWS_WITH_AS(e.reload_plugins(), doctest::Contains("backend 'testgood' requested by the API is unknown"),
                         coe::Error);
    CHECK(version_of(e, "testgood") == "2.0.0");
    CHECK(e.analyze(p.view()).served_by.at(COE_OP_SIMILARITY) == "testgood");
}

TEST_CASE("stress: replacing and reloading a plugin while threads analyse") {
    PluginFolder folder("stress");
    folder.install("tp_good_a");
    Engine e(coe::test::isolated_options({folder.dir}, "testgood"));
    const Panel p = small_panel();
    std::atomic<bool> stop{false};
    std::atomic<int> reports{0}, wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
        workers.emplace_back([&] {
            while (!stop.load()) {
                const Report r = e.analyze(p.view());
                if (r.served_by.at(COE_OP_SIMILARITY) != "testgood" || r.clusters.size() != 2) wrong.fetch_add(1);
                reports.fetch_add(1);
            }
        });
    std::set<std::string> versions;
    for (int round = 0; round < 20; ++round) {
        folder.install(round % 2 ? "tp_good_a" : "tp_good_b");
        e.reload_plugins();
        versions.insert(version_of(e, "testgood"));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
    for (auto &w : workers) w.join();
    CHECK(wrong.load() == 0);
    CHECK(reports.load() > 0);
    CHECK(versions == std::set<std::string>{"1.0.0", "2.0.0"});
}

TEST_CASE("a call in flight finishes on the plugin it started with") {
    PluginFolder folder("inflight");
    folder.install("tp_faulty");
    Engine e(coe::test::isolated_options({folder.dir}, "faulty"));
    ::setenv("COE_TEST_FAULT", "slow:1:150", 1);  // every operation of the plugin sleeps 150 ms
    const Panel p = small_panel();
    Report in_flight;
    std::thread caller([&] { in_flight = e.analyze(p.view()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    folder.install("tp_faulty");  // a new file: loaded as a new object
    e.reload_plugins();           // swaps while the call above sleeps inside the old one
    caller.join();
    ::unsetenv("COE_TEST_FAULT");
    CHECK(in_flight.served_by.at(COE_OP_SIMILARITY) == "faulty");
    CHECK_FALSE(in_flight.degraded);
    CHECK(e.analyze(p.view()).served_by.at(COE_OP_SIMILARITY) == "faulty");
}

TEST_CASE("watch_plugins reloads by itself when a plugin file changes") {
    PluginFolder folder("watch");
    folder.install("tp_good_a");
    Engine e(coe::test::isolated_options({folder.dir}, "testgood"));
    e.watch_plugins(std::chrono::milliseconds(20));
    folder.install("tp_good_b");
    std::string v;
    for (int i = 0; i < 300 && (v = version_of(e, "testgood")) != "2.0.0"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(v == "2.0.0");
}

namespace {

// The reports of `e` on `panels` that differ from `want` without saying so
// (not degraded), and those marked degraded.
struct Outcome {
    std::size_t silent_wrong = 0, degraded = 0;
};
Outcome analyze_all(Engine &e, const std::vector<Panel> &panels, const std::vector<std::string> &want) {
    Outcome o;
    for (std::size_t i = 0; i < panels.size(); ++i) {
        const Report r = e.analyze(panels[i].view());
        if (r.degraded) ++o.degraded;
        else if (coe::test::report_essence(r) != want[i]) ++o.silent_wrong;
    }
    return o;
}

std::int64_t probation_left(const Engine &e, const std::string &backend, const std::string &op) {
    const auto doc = boost::json::parse(e.performance_report());
    for (const auto &b : doc.at("breakers").as_array())
        if (b.at("backend") == backend.c_str() && b.at("operation") == op.c_str())
            return b.at("probation_calls_left").as_int64();
    return -1;
}

}  // namespace

TEST_CASE("probation: a plugin subtly wrong from its first call is never served unmarked, nor after a reload") {
    // tp_wrong_c adds 0.03 to every similarity off the diagonal: valid
    // output, caught only by comparing with the scalar reference.
    const std::vector<Panel> panels = coe::test::mtbench_panels(80);
    // The right reports for this chain: the right version of the plugin
    // (like every testgood version, it offers coe.featurize at revision 1
    // only, so the whole chain computes features at that revision).
    EngineOptions right = coe::test::isolated_options({coe::test::test_plugin("tp_good_a")}, "testgood");
    right.resilience.shadow_rate = 0;
    right.resilience.shadow_probation_calls = 0;
    Engine reference(right);
    std::vector<std::string> want;
    for (const Panel &p : panels) want.push_back(coe::test::report_essence(reference.analyze(p.view())));

    // default shadow rate and probation; speed is not judged (a busy machine must not demote the right version)
    EngineOptions options = coe::test::isolated_options({}, "testgood");
    options.resilience.breaker.slower_than_reference_calls = 0;
    PluginFolder folder("probation");
    options.plugin_paths = {folder.dir};
    folder.install("tp_wrong_c");
    {
        Engine e(options);
        const Outcome o = analyze_all(e, panels, want);
        CHECK(o.silent_wrong == 0);
        CHECK(o.degraded > 0);  // the plugin is wrong, and it shows
    }

    folder.install("tp_good_a");  // a right version earns trust ...
    Engine e(options);
    const Outcome good = analyze_all(e, panels, want);
    CHECK(good.silent_wrong == 0);
    CHECK(good.degraded == 0);
    REQUIRE(probation_left(e, "testgood", COE_OP_SIMILARITY) == 0);
    folder.install("tp_wrong_c");  // ... which a wrong one does not inherit
    e.reload_plugins();
    REQUIRE(version_of(e, "testgood") == "2.1.0");
    CHECK(probation_left(e, "testgood", COE_OP_SIMILARITY) == 64);
    const Outcome after = analyze_all(e, panels, want);
    CHECK(after.silent_wrong == 0);
    CHECK(after.degraded > 0);
}
