// Plugins in a worker process (coe/plugin_isolation.hpp): a crash or a hang
// fails one call, which the next backend serves; results are those of the
// same plugin in process; the worker is found, started and restarted.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <string>
#include <vector>

#include "coe/engine.hpp"
#include "coe/report_format.hpp"
#include "features/word_table.hpp"
#include "plugins/isolated_plugin.hpp"
#include "test_support.hpp"

using namespace coe;

namespace {

std::filesystem::path worker_program() { return coe::test::backend_plugin_dir().parent_path() / "coe-plugin-worker"; }

EngineOptions in_worker(std::vector<std::filesystem::path> paths, std::string backend,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    EngineOptions o = coe::test::isolated_options(std::move(paths), std::move(backend));
    o.plugin_isolation.mode = PluginIsolation::process;
    o.plugin_isolation.call_timeout = timeout;
    return o;
}

const std::vector<Panel> &all_panels() {
    static const std::vector<Panel> panels = coe::test::mtbench_panels();
    return panels;
}

const std::vector<std::string> &scalar_reports() {
    static const std::vector<std::string> reports = [] {
        Engine scalar(coe::test::isolated_options({}, "scalar"));
        std::vector<std::string> out;
        for (const Panel &p : all_panels()) out.push_back(coe::test::report_essence(scalar.analyze(p.view())));
        return out;
    }();
    return reports;
}

BackendInfo info_of(const Engine &e, const std::string &name) {
    for (const auto &b : e.backends())
        if (b.name == name) return b;
    throw std::runtime_error("no backend " + name);
}

struct RunSummary {
    std::size_t equal = 0, degraded = 0, worker_events = 0;
    std::string first_event;
};

// The 80 MT-Bench panels on `e`, compared with the scalar backend's reports.
RunSummary run_all(const Engine &e) {
    RunSummary s;
    const auto &reference = scalar_reports();
    for (std::size_t i = 0; i < all_panels().size(); ++i) {
        const Report r = e.analyze(all_panels()[i].view());
        s.equal += coe::test::report_essence(r) == reference[i];
        s.degraded += r.degraded;
        for (const auto &ev : r.events)
            if (coe::test::contains(ev, "worker")) {
                ++s.worker_events;
                if (s.first_event.empty()) s.first_event = ev;
            }
    }
    return s;
}

}  // namespace

TEST_CASE("a plugin that segfaults on its 50th call: 80 of 80 reports, the rest served by scalar, worker restarted") {
    Engine e(in_worker({coe::test::test_plugin("tp_segv_50")}, "segv50"));
    const BackendInfo before = info_of(e, "segv50");
    CHECK(before.isolation == "process");
    CHECK(before.status == BackendStatus::active);
    const RunSummary s = run_all(e);
    MESSAGE(s.degraded << " degraded reports; first worker event: " << s.first_event);
    CHECK(s.equal == 80);
    CHECK(s.degraded > 0);
    CHECK(s.worker_events > 0);
    CHECK(coe::test::contains(s.first_event, "segv50"));
    const BackendInfo after = info_of(e, "segv50");
    CHECK(after.worker_restarts >= 1);
    const auto doc = boost::json::parse(e.performance_report());
    bool listed = false;
    for (const auto &b : doc.at("isolated_backends").as_array())
        if (b.at("backend") == "segv50") {
            listed = true;
            CHECK(b.at("worker_restarts").to_number<std::uint64_t>() == after.worker_restarts);
        }
    CHECK(listed);
    CHECK(
        coe::test::contains(e.performance_report_prometheus(), "coe_plugin_worker_restarts_total{backend=\"segv50\"}"));
}

TEST_CASE("a plugin that hangs on its 30th call: killed after the timeout, 80 of 80 reports, worker restarted") {
    Engine e(in_worker({coe::test::test_plugin("tp_hang_30")}, "hang30", std::chrono::milliseconds(250)));
    const RunSummary s = run_all(e);
    MESSAGE(s.degraded << " degraded reports; first worker event: " << s.first_event);
    CHECK(s.equal == 80);
    CHECK(s.degraded > 0);
    CHECK(coe::test::contains(s.first_event, "no answer within 250 ms"));
    CHECK(info_of(e, "hang30").worker_restarts >= 1);
}

TEST_CASE("a sound plugin gives bit-identical reports in a worker and in process, from several threads") {
    ::unsetenv("COE_TEST_FAULT");
    // Results are the subject here, not speed: four threads waiting for one
    // worker (under a sanitizer, too) would otherwise be judged slow and
    // served by scalar.
    EngineOptions in_process = coe::test::isolated_options({coe::test::test_plugin("tp_faulty")}, "faulty");
    EngineOptions isolated = in_worker({coe::test::test_plugin("tp_faulty")}, "faulty");
    for (EngineOptions *o : {&in_process, &isolated}) {
        o->resilience.breaker.slow_call_duration_ms = 0;
        o->resilience.breaker.slower_than_reference_calls = 0;
    }
    Engine inside(in_process);
    Engine outside(isolated);
    CHECK(info_of(inside, "faulty").isolation == "in_process");
    CHECK(info_of(outside, "faulty").isolation == "process");
    // in process on this thread; isolated from four std::threads at once
    // (one worker serves them one call at a time)
    const std::size_t n = all_panels().size();
    std::vector<Report> a(n), b(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = inside.analyze(all_panels()[i].view());
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            try {
                for (std::size_t i = t; i < n; i += 4) b[i] = outside.analyze(all_panels()[i].view());
            } catch (const std::exception &e) {
                errors[t] = e.what();
            }
        });
    for (auto &th : threads) th.join();
    for (const auto &e : errors) REQUIRE_MESSAGE(e.empty(), e);
    std::size_t identical = 0;
    for (std::size_t i = 0; i < n; ++i) {
        Report x = a[i], y = b[i];
        CHECK_FALSE(y.degraded);
        x.timing = {};
        y.timing = {};
        identical += to_json(x) == to_json(y);
    }
    CHECK(identical == a.size());
    CHECK(info_of(outside, "faulty").worker_restarts == 0);

    // the word table (a struct of pointers behind a pointer) crosses too
    const auto texts = coe::test::mtbench_panel_texts()[3];
    std::vector<std::string> words{"the", "password", "hash", "salt", "memory", "use", "function"};
    std::vector<float> vectors(words.size() * 8);
    for (std::size_t i = 0; i < vectors.size(); ++i) vectors[i] = static_cast<float>((i * 7919) % 13) - 6.0f;
    const detail::WordTableData table = detail::build_word_table(words, vectors, 8);
    const std::vector<std::string_view> views_of_texts(texts.begin(), texts.end());
    const WordEmbeddings ea = inside.embed_words(views_of_texts, table.view());
    const WordEmbeddings eb = outside.embed_words(views_of_texts, table.view());
    CHECK(ea.known_words == eb.known_words);
    REQUIRE(ea.vectors.size() == eb.vectors.size());
    CHECK(std::memcmp(ea.vectors.data(), eb.vectors.data(), ea.vectors.size() * sizeof(float)) == 0);
    CHECK(outside.backend_for("coe.embed_words") == "faulty");
}

TEST_CASE("outputs a plugin in a worker leaves unwritten fail their checks, as in process") {
    // the worker gets the outputs as the engine filled them: values no
    // result may hold, not what an earlier call left in the shared region
    ::setenv("COE_TEST_FAULT", "unwritten:1", 1);
    EngineOptions o = in_worker({coe::test::test_plugin("tp_faulty")}, "faulty");
    o.resilience.shadow_rate = 0;
    o.resilience.shadow_probation_calls = 0;
    o.resilience.breaker.slow_call_duration_ms = 0;
    o.resilience.breaker.slower_than_reference_calls = 0;
    Engine e(o);
    REQUIRE(info_of(e, "faulty").isolation == "process");
    for (std::size_t i = 0; i < 8; ++i) {
        const Report r = e.analyze(all_panels()[i].view());
        CHECK(r.degraded);
        CHECK(coe::test::report_essence(r) == scalar_reports()[i]);
    }
    CHECK(coe::test::failures_of(e, "faulty", COE_OP_SIMILARITY, "non_finite") > 0);
    ::unsetenv("COE_TEST_FAULT");
}

TEST_CASE("scalar outputs and statuses cross back: featurize reports the entries it needs") {
    auto plugin = detail::IsolatedPlugin::start(worker_program(), coe::test::test_plugin("tp_faulty"),
                                                std::chrono::milliseconds(5000));
    const coe_plugin_descriptor &d = *plugin->descriptor();
    CHECK(std::string(d.name) == "faulty");
    CHECK(d.thread_safety == COE_THREAD_SAFETY_SERIALIZED);
    std::uint32_t featurize = d.operation_count;
    for (std::uint32_t i = 0; i < d.operation_count; ++i)
        if (std::string(d.operations[i]->id) == COE_OP_FEATURIZE) featurize = i;
    REQUIRE(featurize < d.operation_count);

    const char *texts[] = {"salted hashes with a slow function", "argon2id with per user salt"};
    const std::uint64_t lengths[] = {std::strlen(texts[0]), std::strlen(texts[1])};
    std::uint64_t offsets[3] = {};
    std::uint32_t indices[2] = {};
    float values[2] = {};
    coe_featurize_args a{};
    a.struct_size = sizeof a;
    a.text_count = 2;
    a.texts = texts;
    a.text_lengths = lengths;
    a.bucket_bits = 12;
    a.flags = COE_FEATURIZE_L2_NORMALIZE;
    a.entry_capacity = 2;
    a.row_offsets = offsets;
    a.indices = indices;
    a.values = values;
    char message[256] = {};
    CHECK(plugin->call(featurize, &a, message, sizeof message) == COE_ERR_BUFFER_TOO_SMALL);
    CHECK(a.entry_count > 2);
    CHECK(a.texts == texts);  // the caller's pointers are left as they were
    CHECK(a.row_offsets == offsets);

    std::vector<std::uint32_t> more_indices(a.entry_count);
    std::vector<float> more_values(a.entry_count);
    a.entry_capacity = a.entry_count;
    a.indices = more_indices.data();
    a.values = more_values.data();
    CHECK(plugin->call(featurize, &a, message, sizeof message) == COE_OK);
    CHECK(offsets[2] == a.entry_count);
    CHECK(offsets[1] > 0);

    // a worker killed from outside fails the next call, which names it; the
    // call after it starts a new worker
    const pid_t first = plugin->worker_pid();
    REQUIRE(first > 0);
    ::kill(first, SIGKILL);
    CHECK(plugin->call(featurize, &a, message, sizeof message) == COE_ERR_INTERNAL);
    CHECK(coe::test::contains(message, "crashed with signal 9"));
    CHECK(coe::test::contains(message, "a new worker starts on the next call"));
    CHECK(plugin->call(featurize, &a, message, sizeof message) == COE_OK);
    CHECK(plugin->restarts() == 1);
    CHECK(plugin->worker_pid() != first);
}

TEST_CASE("workers that crash before answering anything are restarted after a growing pause") {
    auto plugin = detail::IsolatedPlugin::start(worker_program(), coe::test::test_plugin("tp_segv_1"),
                                                std::chrono::milliseconds(5000));
    std::uint32_t cluster = 0;
    while (std::string(plugin->descriptor()->operations[cluster]->id) != COE_OP_CLUSTER) ++cluster;
    const float similarity[4] = {1, 0.9f, 0.9f, 1};
    std::uint32_t labels[2] = {};
    coe_cluster_args a{sizeof a, 2, similarity, 2, COE_CLUSTER_AVERAGE_LINKAGE, 0.5f, labels, 0, 0};
    char message[256] = {};
    CHECK(plugin->call(cluster, &a, message, sizeof message) == COE_ERR_INTERNAL);
    CHECK(coe::test::contains(message, "a new worker starts in 50 ms"));
    CHECK(plugin->call(cluster, &a, message, sizeof message) == COE_ERR_INTERNAL);
    CHECK(coe::test::contains(message, "failed again and again: a new one starts in"));
    CHECK(plugin->restarts() == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(70));
    CHECK(plugin->call(cluster, &a, message, sizeof message) == COE_ERR_INTERNAL);
    CHECK(coe::test::contains(message, "a new worker starts in 100 ms"));
    CHECK(plugin->restarts() == 1);
}

TEST_CASE("no worker program, or a plugin the worker cannot load: rejected with the reason, scalar serves") {
    EngineOptions o = in_worker({coe::test::test_plugin("tp_faulty")}, {});
    o.plugin_isolation.executable = "/nonexistent/coe-plugin-worker";
    {
        Engine e(o);
        const BackendInfo b = info_of(e, "faulty");
        CHECK(b.status == BackendStatus::rejected);
        CHECK(coe::test::contains(b.reason, "cannot run isolated: the worker program coe-plugin-worker was not found"));
        CHECK(e.active_backend() == "scalar");
        CHECK(e.analyze(all_panels()[0].view()).backend == "scalar");
    }
    o.backend = "faulty";
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("cannot run isolated"), coe::Error);

    Engine exits(in_worker({coe::test::test_plugin("tp_exit_on_load")}, {}));
    const BackendInfo x = coe::test::backend_with_file(exits, "tp_exit_on_load");
    CHECK(x.status == BackendStatus::rejected);
    CHECK(coe::test::contains(x.reason, "the plugin worker terminated the process with status 0 while loading"));
    CHECK(exits.active_backend() == "scalar");

    Engine bad(in_worker({coe::test::test_plugin("tp_bad_descriptor")}, {}));
    const BackendInfo y = coe::test::backend_with_file(bad, "tp_bad_descriptor");
    CHECK(y.status == BackendStatus::rejected);
    CHECK(coe::test::contains(y.reason, "the plugin worker cannot load it:"));

    Engine hangs(in_worker({coe::test::test_plugin("tp_hang_in_entry")}, {}, std::chrono::milliseconds(300)));
    CHECK(coe::test::contains(coe::test::backend_with_file(hangs, "tp_hang_in_entry").reason,
                              "did not describe the plugin within 300 ms"));
}

TEST_CASE("auto: the package's own plugins in process, every other file in a worker") {
    EngineOptions o =
        coe::test::isolated_options({coe::test::backend_plugin_dir(), coe::test::test_plugin("tp_faulty")});
    o.plugin_isolation.mode = PluginIsolation::automatic;
    Engine e(o);
    bool own_seen = false;
    for (const auto &b : e.backends()) {
        CAPTURE(b.file);
        if (b.status == BackendStatus::rejected) continue;
        if (b.file == "<built-in>" || coe::test::contains(b.file, coe::test::backend_plugin_dir().string())) {
            CHECK(b.isolation == "in_process");
            own_seen |= b.file != "<built-in>";
        } else {
            CHECK(b.isolation == "process");
        }
    }
    CHECK(own_seen);
    CHECK(info_of(e, "faulty").isolation == "process");
}

TEST_CASE("the mode from the environment and the config file; bad values are named errors") {
    EngineOptions o = coe::test::isolated_options({coe::test::test_plugin("tp_faulty")});
    o.plugin_isolation.mode.reset();
    o.use_environment = true;
    ::unsetenv("COE_BACKEND");
    ::unsetenv("COE_PLUGIN_PATH");
    ::unsetenv("COE_CONFIG");
    ::setenv("COE_PLUGIN_ISOLATION", "in_process", 1);
    CHECK(info_of(Engine(o), "faulty").isolation == "in_process");
    ::setenv("COE_PLUGIN_ISOLATION", "sandbox", 1);
    CHECK_THROWS_WITH_AS(Engine{o},
                         doctest::Contains("COE_PLUGIN_ISOLATION: 'sandbox' is not one of auto, in_process, process"),
                         coe::Error);
    ::unsetenv("COE_PLUGIN_ISOLATION");

    const auto file =
        std::filesystem::temp_directory_path() / ("coe-isolation-" + std::to_string(::getpid()) + ".json");
    std::ofstream(file) << R"({"plugin_isolation": "process", "plugin_call_timeout_ms": 1234})";
    o.config_file = file;
    CHECK(info_of(Engine(o), "faulty").isolation == "process");
    o.plugin_isolation.mode = PluginIsolation::in_process;  // the API wins
    CHECK(info_of(Engine(o), "faulty").isolation == "in_process");
    std::ofstream(file) << R"({"plugin_isolation": "sometimes"})";
    CHECK_THROWS_WITH_AS(
        Engine{o}, doctest::Contains("field 'plugin_isolation' must be one of auto, in_process, process"), coe::Error);
    std::ofstream(file) << R"({"plugin_call_timeout_ms": 0})";
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("plugin_call_timeout_ms"), coe::Error);
    std::filesystem::remove(file);
}

TEST_CASE("coe backends shows where each backend runs; a bad --plugin-isolation is a usage error") {
    const std::string coe = coe::test::coe_tool().string() + " backends --json --plugin-path " +
                            coe::test::test_plugin("tp_faulty").string();
    const auto listed = coe::test::run_command(coe + " --plugin-isolation process");
    REQUIRE(listed.status == 0);
    std::size_t seen = 0;
    const boost::json::value doc = boost::json::parse(listed.out);
    for (const auto &b : doc.at("backends").as_array()) {
        if (b.at("name") == "faulty") {
            CHECK(b.at("isolation") == "process");
            CHECK(b.at("worker_restarts").to_number<std::uint64_t>() == 0);
            ++seen;
        }
        if (b.at("status") != "rejected") CHECK(b.at("isolation") != "");  // every file, even the package's own
    }
    CHECK(seen == 1);
    const auto text = coe::test::run_command(coe::test::coe_tool().string() + " backends --plugin-path " +
                                             coe::test::test_plugin("tp_faulty").string());
    CHECK(coe::test::contains(text.out, "runs isolated in a worker process"));
    const auto bad = coe::test::run_command(coe + " --plugin-isolation sandbox 2>&1");
    CHECK(bad.status != 0);
    CHECK(coe::test::contains(bad.out, "--plugin-isolation: 'sandbox' is not one of auto, in_process, process"));
}
