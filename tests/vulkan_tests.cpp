// The Vulkan backend as a user meets it through `coe`: listed with its
// device and never chosen automatically; `--backend vulkan` gives the scalar
// backend's reports on the MT-Bench panels; a lost device demotes to the CPU
// and every report still comes out; without a Vulkan driver the plugin is
// rejected and the engine runs on the CPU.
//
// The reports use word vectors (dense features, so coe.similarity/2's dense
// matrix runs on the device): a synthetic file made here from the MT-Bench
// vocabulary, named with --word-vectors, so the tests need no download.
// Exits 77 with "SKIPPED: ..." when this machine has no usable Vulkan device.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

#include <boost/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
    int status;
    std::string out;
};

// `environment`: NAME=VALUE settings for this run, before the tool.  Only
// the build's plugins are found.
Run run_coe(const std::string &args, const std::string &environment = "") {
    const std::string cmd =
        "env -u COE_BACKEND -u COE_CONFIG -u COE_VULKAN_TEST_FAULT -u COE_DEVICE_ROUTING "
        "-u COE_DEVICE_MIN_MULTIPLY_ADDS -u COE_DEVICE_START_MULTIPLY_ADDS -u COE_DEVICE_ROUTING_ALLOW_CPU "
        "COE_PLUGIN_PATH=" +
        coe::test::backend_plugin_dir().string() + " " + environment + " " + coe::test::coe_tool().string() + " " +
        args + " 2>&1";
    FILE *p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return {-1, "cannot run " + cmd};  // (also called from main, outside any test)
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int rc = ::pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

const boost::json::object *find_backend(const boost::json::value &doc, const std::string &name) {
    for (const auto &b : doc.at("backends").as_array())
        if (b.at("name").as_string() == name) return &b.as_object();
    return nullptr;
}

// This process's scratch folder (removed at exit).
fs::path scratch_dir() { return fs::temp_directory_path() / ("coe-vulkan-tests-" + std::to_string(::getpid())); }

// Word vectors for every word of the MT-Bench panels (random, fixed seed),
// converted by `coe vectors import`.
fs::path synthetic_vectors() {
    static const fs::path file = [] {
        std::set<std::string> vocabulary;
        for (const auto &panel : coe::test::mtbench_panel_texts())
            for (const auto &text : panel) {
                std::string t;
                for (char ch : text + " ") {
                    const auto c = static_cast<unsigned char>(ch);
                    if (std::isalnum(c) || c >= 0x80) {
                        t += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
                    } else {
                        if (t.size() >= 2) vocabulary.insert(t);
                        t.clear();
                    }
                }
            }
        constexpr int dims = 48;
        std::mt19937 rng(11);
        std::normal_distribution<double> value(0.0, 1.0);
        boost::json::object vectors;
        boost::json::array words;
        std::size_t index = 0;
        for (const std::string &w : vocabulary) {
            boost::json::array v;
            for (int k = 0; k < dims; ++k) v.push_back(value(rng));
            v.push_back(1.0);  // the norm field, not used
            v.push_back(index++);
            vectors[w] = std::move(v);
            words.push_back(boost::json::string(w));
        }
        const fs::path dir = scratch_dir();
        fs::create_directories(dir);
        const fs::path json = dir / "vectors.json", out = dir / "word-vectors.coewv";
        std::ofstream(json) << boost::json::serialize(
            boost::json::object{{"words", words}, {"vectors", vectors}, {"unkVector", boost::json::array(dims, 0.0)}});
        const Run r = run_coe("vectors import " + json.string() + " --output " + out.string());
        if (r.status != 0) throw std::runtime_error("coe vectors import failed: " + r.out);
        return out;
    }();
    return file;
}

// A lavapipe device is far slower than the scalar reference, which the
// breaker would count against it (demoting it after a few calls); these
// tests force the backend, so its speed is not judged.
fs::path speed_not_judged() {
    static const fs::path file = [] {
        const fs::path dir = scratch_dir();
        fs::create_directories(dir);
        const fs::path config = dir / "speed-not-judged.json";
        std::ofstream(config) << R"({"resilience": {"breaker": {"slower_than_reference_calls": 0}}})";
        return config;
    }();
    return file;
}

std::string analyze_args(const std::string &backend) {
    return "analyze " + (coe::test::shared_data_dir() / "mtbench-panels.jsonl").string() + " --json --backend " +
           backend + " --features word_vectors --word-vectors " + synthetic_vectors().string() + " --config " +
           speed_not_judged().string();
}

std::vector<boost::json::object> reports(const std::string &out) {
    std::vector<boost::json::object> docs;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) docs.push_back(boost::json::parse(line).as_object());
    return docs;
}

// A report without what says how and where it was computed.
boost::json::object results_only(boost::json::object o) {
    for (const char *k : {"timing_ms", "backend", "served_by", "degraded", "events"}) o.erase(k);
    return o;
}

}  // namespace

TEST_CASE("coe backends: vulkan names its device and is available, never active by itself") {
    const Run r = run_coe("backends --json");
    REQUIRE(r.status == 0);
    const auto doc = boost::json::parse(r.out);
    const auto *vulkan = find_backend(doc, "vulkan");
    REQUIRE(vulkan != nullptr);
    CHECK(vulkan->at("status") == "available");
    CHECK(doc.at("active").as_string() != "vulkan");
    const Run text = run_coe("backends");
    CHECK(text.out.find("Vulkan compute on ") != std::string::npos);
}

TEST_CASE("coe analyze --backend vulkan: the scalar backend's reports, served by vulkan") {
    const Run scalar = run_coe(analyze_args("scalar"));
    const Run vulkan = run_coe(analyze_args("vulkan"));
    REQUIRE_MESSAGE(scalar.status == 0, scalar.out);
    REQUIRE_MESSAGE(vulkan.status == 0, vulkan.out);
    const auto a = reports(scalar.out), b = reports(vulkan.out);
    REQUIRE(a.size() == 80);
    REQUIRE(b.size() == 80);
    CHECK(a.front().at("features") == "word_vectors");
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(b[i].at("backend") == "vulkan");
        CHECK(b[i].at("degraded") == false);
        CHECK_MESSAGE(results_only(a[i]) == results_only(b[i]), "panel " << i);
        // the word sums on the device too, the table kept there (the file's checksum names it)
        CHECK(b[i].at("served_by").at("coe.embed_words") == "vulkan");
    }
}

TEST_CASE(
    "a lost Vulkan device: 80 of 80 reports, the same results, degraded, the device's operations served by a CPU "
    "backend") {
    const Run clean = run_coe(analyze_args("scalar"));
    const Run lost = run_coe(analyze_args("vulkan"), "COE_VULKAN_TEST_FAULT=lost");
    REQUIRE_MESSAGE(clean.status == 0, clean.out);
    REQUIRE_MESSAGE(lost.status == 0, lost.out);
    const auto a = reports(clean.out), b = reports(lost.out);
    REQUIRE(b.size() == 80);
    CHECK(b.front().at("degraded") == true);
    for (std::size_t i = 0; i < b.size(); ++i) {
        CHECK_MESSAGE(results_only(a[i]) == results_only(b[i]), "panel " << i);
        // the breakers of the device's operations opened: the dense matrix
        // and the word sums moved to a CPU backend (the other operations,
        // on the CPU in the plugin, stay)
        const auto &served = b[i].at("served_by").as_object();
        for (const char *op : {"coe.similarity", "coe.embed_words"}) {
            REQUIRE(served.contains(op));
            CHECK_MESSAGE(served.at(op) != "vulkan", "panel " << i << ", " << op);
        }
    }
}

// The MT-Bench panels with word vectors, no backend forced, and a routing
// threshold every panel reaches (31 answers x 48 dimensions: 23,808
// multiply-adds).
std::string routed_args() {
    return "analyze " + (coe::test::shared_data_dir() / "mtbench-panels.jsonl").string() +
           " --json --features word_vectors --word-vectors " + synthetic_vectors().string() + " --config " +
           speed_not_judged().string() + " --device-min-multiply-adds 1000 --device-start-multiply-adds 0";
}

TEST_CASE("coe backends: the device, and why a CPU-type device is not routed to") {
    const Run r = run_coe("backends --json");
    REQUIRE(r.status == 0);
    const auto doc = boost::json::parse(r.out);
    const auto *vulkan = find_backend(doc, "vulkan");
    REQUIRE(vulkan != nullptr);
    REQUIRE(vulkan->at("device").is_object());
    const auto &device = vulkan->at("device").as_object();
    CHECK(!device.at("name").as_string().empty());
    const std::string reason(vulkan->at("reason").as_string());
    if (device.at("type") == "cpu") {
        CHECK(reason.find("not routed: CPU-type device (" + std::string(device.at("name").as_string()) +
                          ") is never chosen automatically (--backend vulkan forces it)") != std::string::npos);
        const Run allowed = run_coe("backends --json", "COE_DEVICE_ROUTING_ALLOW_CPU=1");
        const auto allowed_doc = boost::json::parse(allowed.out);
        const auto *v = find_backend(allowed_doc, "vulkan");
        REQUIRE(v != nullptr);
        CHECK(std::string(v->at("reason").as_string()).find("routed: dense similarity calls of at least 20000000") !=
              std::string::npos);
    } else {
        CHECK(reason.find("routed: dense similarity calls of at least") != std::string::npos);
    }
    for (const auto &b : doc.at("backends").as_array())
        if (b.at("name") != "vulkan") CHECK(b.at("device").is_null());
    const Run text = run_coe("backends");
    CHECK(text.out.find("device " + std::string(device.at("name").as_string())) != std::string::npos);
    const Run off = run_coe("backends --device-routing off");
    CHECK(off.out.find("not routed: device routing is off") != std::string::npos);
}

TEST_CASE("coe analyze, routed by size: the scalar backend's reports, similarity served by vulkan, not degraded") {
    const Run scalar = run_coe(analyze_args("scalar"));
    const Run routed = run_coe(routed_args(), "COE_DEVICE_ROUTING_ALLOW_CPU=1");
    REQUIRE_MESSAGE(scalar.status == 0, scalar.out);
    REQUIRE_MESSAGE(routed.status == 0, routed.out);
    const auto a = reports(scalar.out), b = reports(routed.out);
    REQUIRE(b.size() == 80);
    // served_by names the backend of a panel's last similarity call: the
    // answers' dense matrix (routed), or a later one that is sparse or below
    // the size (a lexical TF-IDF matrix, the recommendations' matrix)
    std::size_t on_device = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        CHECK(b[i].at("backend") != "vulkan");  // the active backend is a CPU one
        const auto &similarity = b[i].at("served_by").at("coe.similarity");
        on_device += similarity == "vulkan" ? 1 : 0;
        CHECK((similarity == "vulkan" || similarity == b[i].at("backend")));
        CHECK(b[i].at("served_by").at("coe.cluster") == b[i].at("backend"));
        CHECK(b[i].at("degraded") == false);
        CHECK_MESSAGE(results_only(a[i]) == results_only(b[i]), "panel " << i);
    }
    CHECK(on_device >= 40);
    // below the size (the default threshold): nothing goes to the device
    const Run small = run_coe(routed_args() + " --device-min-multiply-adds 20000000", "COE_DEVICE_ROUTING_ALLOW_CPU=1");
    REQUIRE_MESSAGE(small.status == 0, small.out);
    for (const auto &rep : reports(small.out)) {
        CHECK(rep.at("served_by").at("coe.similarity") == rep.at("backend"));
        CHECK(rep.at("degraded") == false);
    }
}

TEST_CASE("a lost Vulkan device under routing: 80 of 80 reports, the same results, degraded, served by the CPU chain") {
    const Run clean = run_coe(analyze_args("scalar"));
    const Run lost = run_coe(routed_args(), "COE_DEVICE_ROUTING_ALLOW_CPU=1 COE_VULKAN_TEST_FAULT=lost");
    REQUIRE_MESSAGE(clean.status == 0, clean.out);
    REQUIRE_MESSAGE(lost.status == 0, lost.out);
    const auto a = reports(clean.out), b = reports(lost.out);
    REQUIRE(b.size() == 80);
    CHECK(b.front().at("degraded") == true);
    bool named = false;
    for (const auto &e : b.front().at("events").as_array())
        named = named || std::string(e.as_string()).find("vulkan coe.similarity: error_status") == 0;
    CHECK(named);
    for (std::size_t i = 0; i < b.size(); ++i) {
        CHECK_MESSAGE(results_only(a[i]) == results_only(b[i]), "panel " << i);
        CHECK_MESSAGE(b[i].at("served_by").at("coe.similarity") == b[i].at("backend"), "panel " << i);
    }
}

TEST_CASE("without a Vulkan driver: the plugin is rejected with its reason and the engine runs on the CPU") {
    const Run r =
        run_coe("backends --json", "VK_ICD_FILENAMES=/nonexistent/icd.json VK_DRIVER_FILES=/nonexistent/icd.json");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    const auto doc = boost::json::parse(r.out);
    const auto *vulkan = find_backend(doc, "vulkan");
    REQUIRE(vulkan != nullptr);
    CHECK(vulkan->at("status") == "rejected");
    CHECK(std::string(vulkan->at("reason").as_string()).find("no usable device") != std::string::npos);
    CHECK(doc.at("active").as_string() != "vulkan");
}

int main(int argc, char **argv) {
    const Run r = run_coe("backends --json");
    if (r.status != 0) {
        std::cerr << "FAILED: coe backends: " << r.out << "\n";
        return 1;
    }
    const auto doc = boost::json::parse(r.out);
    const auto *vulkan = find_backend(doc, "vulkan");
    if (vulkan == nullptr) {
        std::cerr << "FAILED: no vulkan backend in " << coe::test::backend_plugin_dir() << "\n";
        return 1;
    }
    if (vulkan->at("status") == "rejected") {
        std::cout << "SKIPPED: backend vulkan cannot run here: " << vulkan->at("reason").as_string() << "\n";
        return 77;
    }
    doctest::Context context(argc, argv);
    const int rc = context.run();
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
    return rc;
}
