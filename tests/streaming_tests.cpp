// `coe analyze` on JSON Lines reads a line at a time and writes each report
// in input order as soon as it is done: memory does not grow with the file.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/json.hpp>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Child {
    int status = -1;
    double peak_rss_mb = 0;  // the process's own peak resident set, from its performance report
};

// Runs `coe analyze INPUT --json ARGS... --report REPORT` with stdout to OUTPUT.
Child run_analyze(const fs::path &input, const fs::path &output, const std::vector<std::string> &args) {
    const fs::path report = output.string() + ".report.json";
    std::string command = "env -u COE_BACKEND -u COE_PLUGIN_PATH -u COE_CONFIG";
#if defined(__SANITIZE_ADDRESS__)
    // the default quarantine holds 256 MB of freed blocks: memory that the
    // process no longer uses, so keep it small to measure what is in use
    const char *asan = std::getenv("ASAN_OPTIONS");
    command += " ASAN_OPTIONS='" + std::string(asan ? asan : "") + (asan && *asan ? ":" : "") +
               "quarantine_size_mb=8:thread_local_quarantine_size_kb=256'";
#endif
    command += " '" + coe::test::coe_tool().string() + "' analyze '" + input.string() + "' --json --report '" +
               report.string() + "'";
    for (const auto &a : args) command += " '" + a + "'";
    command += " > '" + output.string() + "' 2>/dev/null";
    Child c{coe::test::run_command(command).status, 0};
    std::ifstream in(report);
    std::stringstream text;
    text << in.rdbuf();
    REQUIRE_MESSAGE(!text.str().empty(), "no performance report");
    c.peak_rss_mb = json::parse(text.str()).at("peak_rss_bytes").to_number<double>() / (1 << 20);
    return c;
}

std::vector<json::object> reports(const fs::path &file) {
    std::vector<json::object> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        json::object o = json::parse(line).as_object();
        o.erase("timing_ms");
        out.push_back(std::move(o));
    }
    return out;
}

fs::path scratch_dir() {
    const fs::path dir = fs::temp_directory_path() / ("coe-streaming-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("JSON Lines: a bad line in the middle is its own record, in place; 1 and 3 threads agree") {
    const fs::path dir = scratch_dir();
    const fs::path input = dir / "mixed.jsonl";
    {
        std::ifstream corpus(fs::path(COE_TEST_SHARED_DATA_DIR) / "mtbench-panels.jsonl");
        std::ofstream out(input, std::ios::binary);
        std::string line;
        for (int i = 0; i < 12 && std::getline(corpus, line); ++i) {
            if (i == 6) out << "{\"responses\": [ this is not JSON\r\n";
            if (i == 8) out << "\n   \n";
            out << line << (i % 2 ? "\r\n" : "\n");
        }
    }
    const fs::path one = dir / "one.jsonl", three = dir / "three.jsonl";
    CHECK(run_analyze(input, one, {"--threads", "1"}).status == 3);
    CHECK(run_analyze(input, three, {"--threads", "3"}).status == 3);
    const auto a = reports(one), b = reports(three);
    REQUIRE(a.size() == 13);
    CHECK(a == b);
    CHECK(a[6].at("line").to_number<int>() == 7);
    CHECK(coe::test::contains(std::string(a[6].at("error").as_string()), "mixed.jsonl:7"));
    CHECK(a[5].at("id") == "mtbench-86");
    CHECK(a[7].at("id") == "mtbench-87");
    CHECK(a[12].contains("consensus"));
    fs::remove_all(dir);
}

TEST_CASE("JSON Lines: a line over --max-input-mb is an error record and the lines after it still run") {
    const fs::path dir = scratch_dir();
    const fs::path input = dir / "long.jsonl", output = dir / "out.jsonl";
    {
        std::ifstream corpus(fs::path(COE_TEST_SHARED_DATA_DIR) / "mtbench-panels.jsonl");
        std::string first, second;
        std::getline(corpus, first);
        std::getline(corpus, second);
        std::ofstream out(input, std::ios::binary);
        out << first << "\n{\"id\": \"huge\", \"question\": \"" << std::string(3 << 20, 'x') << "\"}\n"
            << second << "\n";
    }
    CHECK(run_analyze(input, output, {"--max-input-mb", "1"}).status == 3);
    const auto r = reports(output);
    REQUIRE(r.size() == 3);
    CHECK(r[0].contains("consensus"));
    CHECK(coe::test::contains(std::string(r[1].at("error").as_string()), "longer than 1 MiB"));
    CHECK(r[2].contains("consensus"));
    fs::remove_all(dir);
}

TEST_CASE("JSON Lines: a generated input of ~256 MB runs in bounded memory, on one thread and on three") {
    const fs::path dir = scratch_dir();
    const fs::path input = dir / "big.jsonl", output = dir / "out.jsonl";
    std::size_t panels = 0;
    {
        // panels of three answers drawn from a small vocabulary: every line
        // differs, and each is analysed in full
        const char *words[] = {"retry",  "backoff", "circuit", "breaker", "timeout", "jitter",   "idempotent", "queue",
                               "vendor", "latency", "budget",  "cache",   "replica", "failover", "quorum",     "the",
                               "and",    "with",    "for",     "service", "calls",   "requests", "errors",     "limit"};
        std::mt19937 rng(11);
        std::ofstream out(input, std::ios::binary);
        std::uintmax_t bytes = 0;
        std::string text;
        while (bytes < (256u << 20)) {
            std::string line = "{\"id\":\"p" + std::to_string(panels) + "\",\"responses\":[";
            for (int e = 0; e < 3; ++e) {
                text.clear();
                for (int w = 0; w < 1400; ++w) {
                    text += words[rng() % (sizeof words / sizeof words[0])];
                    text += (w % 17 == 16) ? ". " : " ";
                }
                line += (e ? "," : "") + std::string("{\"expert\":\"e") + std::to_string(e) + "\",\"content\":\"" +
                        text + "\"}";
            }
            line += "]}\n";
            out << line;
            bytes += line.size();
            ++panels;
        }
    }
    const double file_mb = static_cast<double>(fs::file_size(input)) / (1 << 20);
    MESSAGE("input: " << panels << " panels, " << file_mb << " MB");
    for (const std::string threads : {"1", "3"}) {
        const Child c = run_analyze(input, output, {"--threads", threads});
        CHECK(c.status == 0);
        MESSAGE("--threads " << threads << ": peak RSS " << c.peak_rss_mb << " MB");
#if defined(__SANITIZE_ADDRESS__)
        CHECK(c.peak_rss_mb < 200);  // the sanitizer's shadow memory and allocator come on top
#else
        CHECK(c.peak_rss_mb < 100);
#endif
        // every panel answered, in order, without holding the output in memory here either
        std::ifstream in(output);
        std::string line;
        std::size_t n = 0;
        bool in_order = true;
        while (std::getline(in, line)) {
            in_order = in_order && coe::test::contains(line, "{\"id\":\"p" + std::to_string(n) + "\"");
            ++n;
        }
        CHECK(n == panels);
        CHECK(in_order);
    }
    fs::remove_all(dir);
}
