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
    const std::string cmd = "env -u COE_BACKEND -u COE_CONFIG -u COE_VULKAN_TEST_FAULT COE_PLUGIN_PATH=" +
                            coe::test::backend_plugin_dir().string() + " " + environment + " " +
                            coe::test::coe_tool().string() + " " + args + " 2>&1";
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
    }
}

TEST_CASE("a lost Vulkan device: 80 of 80 reports, the same results, degraded, similarity served by a CPU backend") {
    const Run clean = run_coe(analyze_args("scalar"));
    const Run lost = run_coe(analyze_args("vulkan"), "COE_VULKAN_TEST_FAULT=lost");
    REQUIRE_MESSAGE(clean.status == 0, clean.out);
    REQUIRE_MESSAGE(lost.status == 0, lost.out);
    const auto a = reports(clean.out), b = reports(lost.out);
    REQUIRE(b.size() == 80);
    CHECK(b.front().at("degraded") == true);
    for (std::size_t i = 0; i < b.size(); ++i) {
        CHECK_MESSAGE(results_only(a[i]) == results_only(b[i]), "panel " << i);
        // the similarity breaker opened: the dense matrix moved to a CPU
        // backend (the other operations, on the CPU in the plugin, stay)
        const auto &served = b[i].at("served_by").as_object();
        REQUIRE(served.contains("coe.similarity"));
        CHECK_MESSAGE(served.at("coe.similarity") != "vulkan", "panel " << i);
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
