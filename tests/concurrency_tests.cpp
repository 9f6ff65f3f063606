// Many threads analysing on one engine while breakers trip and recover;
// the streaming window and analyze_into on several threads.
// Built and run under ThreadSanitizer as well (scripts/test.sh).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "test_support.hpp"

using namespace coe;

TEST_CASE("threads analysing while breakers trip and recover: every report equals the reference") {
    const auto input = coe::test::mtbench_panels(12, 6);
    Engine reference(coe::test::isolated_options({}));
    std::vector<std::string> expected;
    for (const auto &p : input) expected.push_back(coe::test::report_essence(reference.analyze(p.view())));

    EngineOptions o = coe::test::isolated_options({coe::test::test_plugin("tp_faulty")}, "faulty");
    o.resilience.seed = 3;
    o.resilience.shadow_rate = 0.2;
    o.resilience.breaker.window_size = 10;
    o.resilience.breaker.minimum_calls = 4;
    o.resilience.breaker.open_duration_ms = 5;
    o.resilience.breaker.max_open_duration_ms = 20;
    o.resilience.breaker.half_open_calls = 2;
    // engine-side injection: intermittent NaN and errors on "faulty" (faults
    // the result checks catch on every call; subtle ones are caught only on
    // the sampled shadow calls, so some would reach the caller)
    o.resilience.faults = {parse_fault_spec("faulty:nan:0.3"), parse_fault_spec("faulty:error:0.1")};
    Engine engine(o);

    constexpr int threads = 6, rounds = 4;
    std::atomic<int> mismatches{0}, reports{0}, degraded{0};
    std::atomic<bool> done{false};
    std::thread observer([&] {  // reads the report while the others write
        while (!done.load()) {
            const auto doc = boost::json::parse(engine.performance_report());
            if (!doc.at("operations").is_array()) mismatches.fetch_add(1000);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r)
                for (std::size_t i = 0; i < input.size(); ++i) {
                    const std::size_t k = (i + static_cast<std::size_t>(t)) % input.size();
                    const Report got = engine.analyze(input[k].view());
                    if (coe::test::report_essence(got) != expected[k]) mismatches.fetch_add(1);
                    degraded.fetch_add(got.degraded ? 1 : 0);
                    reports.fetch_add(1);
                }
        });
    for (auto &w : workers) w.join();
    done = true;
    observer.join();

    CHECK(mismatches.load() == 0);
    CHECK(reports.load() == threads * rounds * static_cast<int>(input.size()));
    CHECK(degraded.load() > 0);
    const auto doc = boost::json::parse(engine.performance_report());
    CHECK(doc.at("panels").at("availability").to_number<double>() == 1.0);
    int transitions = 0;
    for (const auto &b : doc.at("breakers").as_array())
        transitions += static_cast<int>(b.at("transitions").as_array().size());
    CHECK(transitions > 0);
}

TEST_CASE("analyze_stream on three threads recycles its results: each equals a fresh analysis, in order") {
    std::vector<Panel> input = coe::test::mtbench_panels(16);
    for (std::size_t i = 0; i < input.size(); i += 4) input[i].responses.resize(1 + i % 5);  // sizes up and down
    Engine engine(coe::test::isolated_options({}));
    std::vector<std::string> expected;
    for (const auto &p : input) expected.push_back(coe::test::report_essence(engine.analyze(p.view())));

    for (int round = 0; round < 2; ++round) {
        std::size_t next = 0, emitted = 0, mismatches = 0, errors = 0;
        engine.analyze_stream(
            [&]() -> std::optional<PanelLine> {
                if (next > input.size()) return std::nullopt;
                PanelLine line;
                line.line = next + 1;
                if (next == 5) {
                    line.panel_or_error = std::string("line 6: not a panel");  // an error passes through in place
                } else {
                    line.panel_or_error = input[next < 5 ? next : next - 1];
                }
                ++next;
                return line;
            },
            [&](const PanelLine &line, const Engine::BatchResult &result) {
                CHECK(line.line == emitted + 1);
                if (emitted == 5) {
                    errors += result.error == "line 6: not a panel" && !result.report;
                } else {
                    const std::size_t k = emitted < 5 ? emitted : emitted - 1;
                    mismatches += !result.report || coe::test::report_essence(*result.report) != expected[k];
                }
                ++emitted;
            },
            {}, 3, 4);
        CHECK(emitted == input.size() + 1);
        CHECK(errors == 1);
        CHECK(mismatches == 0);
    }
}

TEST_CASE("analyze_into on several threads, one report each: the per-thread buffers never mix") {
    const auto input = coe::test::mtbench_panels(10);
    Engine engine(coe::test::isolated_options({}));
    std::vector<std::string> expected;
    for (const auto &p : input) expected.push_back(coe::test::report_essence(engine.analyze(p.view())));
    std::atomic<int> mismatches{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
        workers.emplace_back([&, t] {
            Report report;
            for (int r = 0; r < 3; ++r)
                for (std::size_t i = 0; i < input.size(); ++i) {
                    const std::size_t k = (i * 3 + static_cast<std::size_t>(t)) % input.size();
                    engine.analyze_into(input[k].view(), report);
                    if (coe::test::report_essence(report) != expected[k]) mismatches.fetch_add(1);
                }
        });
    for (auto &w : workers) w.join();
    CHECK(mismatches.load() == 0);
}
