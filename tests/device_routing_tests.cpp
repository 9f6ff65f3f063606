// Per-call routing by size (coe/device_routing.hpp), through the engine's
// API on the Vulkan backend: a dense similarity call of at least the size
// goes to the device, bit for bit the scalar reference's matrix; smaller
// calls, sparse calls and engines with routing off never load it; a
// CPU-type device (lavapipe) is routed to only with the test-only option,
// and otherwise the reason is listed.  The thresholds are tiny (1000
// multiply-adds) so that lavapipe's calls stay short.
// Exits 77 with "SKIPPED: ..." when this machine has no usable Vulkan device.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include "coe/coe_plugin.h"
#include "test_support.hpp"

using namespace coe;

namespace {

constexpr std::uint64_t threshold = 1000;

// Only the build's backend plugins, in this process; a lavapipe device is
// far slower than scalar, which the breaker would hold against it, so speed
// is not judged.
EngineOptions routing_options(bool route_cpu_devices = true) {
    EngineOptions o = coe::test::isolated_options({coe::test::backend_plugin_dir()});
    o.device_routing.min_multiply_adds = threshold;
    o.device_routing.start_multiply_adds = 0;  // the device starts at the first large call
    o.device_routing.route_cpu_devices = route_cpu_devices;
    o.resilience.breaker.slower_than_reference_calls = 0;
    return o;
}

const BackendInfo &vulkan_of(const std::vector<BackendInfo> &infos) {
    for (const auto &b : infos)
        if (b.name == "vulkan") return b;
    throw std::runtime_error("no vulkan backend listed");
}

// `count` random vectors of `dims` floats, row-major.
std::vector<float> random_vectors(std::uint32_t count, std::uint32_t dims, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> value(0.f, 1.f);
    std::vector<float> v(static_cast<std::size_t>(count) * dims);
    for (auto &x : v) x = value(rng);
    return v;
}

// A panel whose answers carry embeddings: the analysis' similarity is one
// dense call of count x dims.
Panel embedded_panel(std::uint32_t count, std::uint32_t dims, unsigned seed = 3) {
    const std::vector<float> v = random_vectors(count, dims, seed);
    Panel p;
    p.id = "embedded";
    p.question = "q";
    for (std::uint32_t i = 0; i < count; ++i) {
        Response r{
            "e" + std::to_string(i), "answer " + std::to_string(i), std::nullopt, std::nullopt, std::nullopt, {}};
        r.embedding.assign(v.begin() + static_cast<std::ptrdiff_t>(i) * dims,
                           v.begin() + static_cast<std::ptrdiff_t>(i + 1) * dims);
        p.responses.push_back(std::move(r));
    }
    return p;
}

bool same_bits(const Matrix &a, const Matrix &b) {
    return a.rows == b.rows && a.cols == b.cols && a.data.size() == b.data.size() &&
           std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("the size: n * (n + 1) / 2 * d multiply-adds, saturating") {
    CHECK(dense_similarity_multiply_adds(31, 300) == 31u * 32u / 2u * 300u);
    CHECK(dense_similarity_multiply_adds(1, 1) == 1);
    CHECK(dense_similarity_multiply_adds(0, 100) == 0);
    CHECK(dense_similarity_multiply_adds(UINT32_MAX, UINT64_MAX / 2) == UINT64_MAX);
    CHECK(kDefaultDeviceMinMultiplyAdds == 20'000'000);
}

TEST_CASE("small calls stay on the CPU backend, not degraded, and the device plugin is never loaded") {
    Engine e(routing_options());
    const std::string cpu = e.active_backend();
    CHECK(cpu != "vulkan");
    const BackendInfo before = vulkan_of(e.backends());
    CHECK(before.status == BackendStatus::not_loaded);
    CHECK(before.reason.find("loaded on the first dense similarity call of at least 1000 multiply-adds") !=
          std::string::npos);

    // 5 x 8: 120 multiply-adds, below the threshold
    const Report r = e.analyze(embedded_panel(5, 8).view());
    CHECK(r.features == "embedding");
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == cpu);
    CHECK_FALSE(r.degraded);
    CHECK(r.events.empty());
    // sparse (TF-IDF) calls never go to the device, however large
    const auto texts = coe::test::mtbench_panel_texts();
    REQUIRE(!texts.empty());
    Panel big;
    for (std::size_t i = 0; i < texts[0].size(); ++i)
        big.responses.push_back({"e" + std::to_string(i), texts[0][i], std::nullopt, std::nullopt, std::nullopt, {}});
    AnalysisOptions tfidf;
    tfidf.feature_kind = FeatureKind::tfidf;
    const Report s = e.analyze(big.view(), tfidf);
    CHECK(s.served_by.at(COE_OP_SIMILARITY) == cpu);
    CHECK_FALSE(s.degraded);
    const auto small = random_vectors(4, 16, 5);  // 160 multiply-adds
    (void)e.similarity(small.data(), 4, 16);
    CHECK(vulkan_of(e.backends()).status == BackendStatus::not_loaded);
}

TEST_CASE("a dense call of at least the size is served by the device, bit for bit the scalar reference") {
    Engine e(routing_options());
    EngineOptions ro = routing_options();
    ro.backend = "scalar";
    Engine reference(ro);

    // 31 x 64: 31744 multiply-adds
    const Panel panel = embedded_panel(31, 64);
    const Report r = e.analyze(panel.view());
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == "vulkan");
    CHECK_FALSE(r.degraded);
    for (const auto &ev : r.events) MESSAGE(ev);
    CHECK(r.events.empty());
    // the other operations stay on the active CPU backend
    CHECK(r.served_by.at(COE_OP_CLUSTER) == e.active_backend());
    const Report ref = reference.analyze(panel.view());
    CHECK(r.consensus.score == ref.consensus.score);
    CHECK(r.consensus.medoid == ref.consensus.medoid);

    const BackendInfo v = vulkan_of(e.backends());
    CHECK(v.status == BackendStatus::available);
    CHECK(v.reason.find("routed: dense similarity calls of at least 1000 multiply-adds") != std::string::npos);
    REQUIRE(v.device.has_value());
    CHECK(!v.device->name.empty());

    for (std::uint32_t n : {8u, 31u, 100u}) {
        const auto vectors = random_vectors(n, 48, n);
        const Matrix a = e.similarity(vectors.data(), n, 48);
        const Matrix b = reference.similarity(vectors.data(), n, 48);
        CHECK_MESSAGE(same_bits(a, b), "n = " << n);
    }
    // the device's breaker is listed with the others
    CHECK(e.performance_report().find("\"vulkan\"") != std::string::npos);
}

TEST_CASE("the device starts only once the large calls add up to the start size; until then they run on the CPU") {
    EngineOptions o = routing_options();
    // 31 x 64 is 31,744 multiply-adds: the third such call reaches 3 x 31,744
    o.device_routing.start_multiply_adds = 3 * 31744;
    Engine e(o);
    const Panel panel = embedded_panel(31, 64);
    for (int call = 1; call <= 2; ++call) {
        const Report r = e.analyze(panel.view());
        CHECK(r.served_by.at(COE_OP_SIMILARITY) == e.active_backend());
        CHECK_FALSE(r.degraded);
        CHECK(vulkan_of(e.backends()).status == BackendStatus::not_loaded);
    }
    const Report third = e.analyze(panel.view());
    CHECK(third.served_by.at(COE_OP_SIMILARITY) == "vulkan");
    CHECK_FALSE(third.degraded);
    CHECK(vulkan_of(e.backends()).status == BackendStatus::available);
    // the default: a whole start-up's worth of work
    CHECK(kDefaultDeviceStartMultiplyAdds == 3'000'000'000ull);
}

TEST_CASE("the first large calls from many threads load the device once, and each is served") {
    Engine e(routing_options());
    const Panel panel = embedded_panel(31, 64, 9);
    std::vector<std::string> served(6);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < served.size(); ++t)
        threads.emplace_back([&, t] { served[t] = e.analyze(panel.view()).served_by.at(COE_OP_SIMILARITY); });
    for (auto &t : threads) t.join();
    for (const auto &s : served) CHECK(s == "vulkan");
}

TEST_CASE("device routing off: never routed, never loaded") {
    EngineOptions o = routing_options();
    o.device_routing.mode = DeviceRouting::off;
    Engine e(o);
    const Report r = e.analyze(embedded_panel(31, 64).view());
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == e.active_backend());
    CHECK_FALSE(r.degraded);
    const BackendInfo v = vulkan_of(e.backends());
    CHECK(v.status == BackendStatus::not_loaded);
    CHECK(v.reason.find("not routed: device routing is off") != std::string::npos);
}

TEST_CASE("a CPU backend forced by name: no routing") {
    EngineOptions o = routing_options();
    o.backend = "scalar";
    Engine e(o);
    const Report r = e.analyze(embedded_panel(31, 64).view());
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == "scalar");
    CHECK(vulkan_of(e.backends()).status == BackendStatus::not_loaded);
}

TEST_CASE("a CPU-type device is never routed to without the test option, and the reason is listed") {
    Engine e(routing_options(false));
    const Report r = e.analyze(embedded_panel(31, 64).view());
    const BackendInfo v = vulkan_of(e.backends());
    REQUIRE(v.device.has_value());
    if (v.device->type != "cpu") {
        MESSAGE("the Vulkan device here is a " << v.device->type << " (" << v.device->name << "): routed");
        CHECK(r.served_by.at(COE_OP_SIMILARITY) == "vulkan");
        return;
    }
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == e.active_backend());
    CHECK_FALSE(r.degraded);
    CHECK(v.status == BackendStatus::available);  // loaded by the first large call, then judged
    CHECK(v.reason.find("not routed: CPU-type device (" + v.device->name + ") is never chosen automatically") !=
          std::string::npos);
    // and stays so: later calls do not try again
    CHECK(e.analyze(embedded_panel(31, 64, 4).view()).served_by.at(COE_OP_SIMILARITY) == e.active_backend());
}

TEST_CASE("the device's own faults: an injected error serves the call from the CPU chain, degraded, with the event") {
    EngineOptions o = routing_options();
    o.resilience.faults.push_back(parse_fault_spec("vulkan:error:1"));
    Engine e(o);
    EngineOptions ro = routing_options();
    ro.backend = "scalar";
    Engine reference(ro);
    const Panel panel = embedded_panel(31, 64);
    const Report r = e.analyze(panel.view());
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == e.active_backend());
    CHECK(r.degraded);
    bool named = false;
    for (const auto &ev : r.events) named = named || ev.find("vulkan coe.similarity: error_status") == 0;
    CHECK(named);
    CHECK(r.consensus.score == reference.analyze(panel.view()).consensus.score);
}

int main(int argc, char **argv) {
    EngineOptions o = coe::test::isolated_options({coe::test::backend_plugin_dir()});
    o.load_device_backends = true;
    try {
        Engine probe(o);
        const BackendInfo &v = vulkan_of(probe.backends());
        if (v.status == BackendStatus::rejected) {
            std::cout << "SKIPPED: backend vulkan cannot run here: " << v.reason << "\n";
            return 77;
        }
    } catch (const std::exception &e) {
        std::cerr << "FAILED: " << e.what() << "\n";
        return 1;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
