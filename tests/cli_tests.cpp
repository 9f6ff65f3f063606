// The `coe` tool as a user runs it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "coe/coe_plugin.h"
#include "coe/cpu_features.hpp"
#include "test_support.hpp"

namespace {

struct Run {
    int status;
    std::string out;
};

// `environment`: NAME=VALUE settings for this run, before the tool.
Run run_coe(const std::string &args, const std::string &environment = "") {
    const std::string cmd =
        "env -u COE_BACKEND -u COE_PLUGIN_PATH -u COE_CONFIG -u COE_PLUGIN_ISOLATION -u COE_DATA_DIR "
        "-u COE_DEVICE_ROUTING -u COE_DEVICE_MIN_MULTIPLY_ADDS -u COE_DEVICE_START_MULTIPLY_ADDS -u "
        "COE_DEVICE_ROUTING_ALLOW_CPU " +
        environment + " " + coe::test::coe_tool().string() + " " + args + " 2>&1";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int rc = ::pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

const boost::json::object &backend(const boost::json::value &doc, const std::string &name) {
    for (const auto &b : doc.at("backends").as_array())
        if (b.at("name").as_string() == name) return b.as_object();
    FAIL("no backend " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("coe backends --json has the documented shape") {
    Run r = run_coe("backends --json");
    REQUIRE(r.status == 0);
    auto doc = boost::json::parse(r.out);
    CHECK(doc.at("cpu").at("features").is_array());
    const std::string active(doc.at("active").as_string());
    int actives = 0;
    std::set<std::string> names;
    for (const auto &b : doc.at("backends").as_array()) {
        for (const char *key : {"name", "status", "reason", "score", "ops", "file", "version", "abi"})
            CHECK_MESSAGE(b.as_object().contains(key), "missing " << key);
        names.insert(std::string(b.at("name").as_string()));
        if (b.at("status") == "active") {
            ++actives;
            CHECK(b.at("name").as_string() == active);
        }
    }
    CHECK(actives == 1);
    CHECK(names.count("scalar") == 1);
    // the best backend this CPU can run is the active one
    const std::uint64_t cpu = coe::probe_cpu_features();
    if ((cpu & COE_CPU_AVX512BW) && (cpu & COE_CPU_AVX512VL)) CHECK(active == "avx512");
    else if (cpu & COE_CPU_AVX2) CHECK(active == "avx2");
}

TEST_CASE("on an AVX2-only CPU: avx2 active, scalar available, avx512 rejected without loading") {
    if ((coe::probe_cpu_features() & COE_CPU_AVX2) == 0) {
        MESSAGE("this CPU has no AVX2; nothing to check");
        return;
    }
    Run r = run_coe("backends --json --disable-cpu avx512f");
    REQUIRE(r.status == 0);
    auto doc = boost::json::parse(r.out);
    CHECK(doc.at("active") == "avx2");
    CHECK(backend(doc, "avx2").at("status") == "active");
    CHECK(backend(doc, "scalar").at("status") == "available");
    const auto &avx512 = backend(doc, "avx512");
    CHECK(avx512.at("status") == "rejected");
    const std::string reason(avx512.at("reason").as_string());
    CHECK(reason.rfind("cpu lacks avx512f", 0) == 0);
    CHECK(reason.find("(not loaded)") != std::string::npos);
    CHECK(avx512.at("ops").as_array().empty());
}

TEST_CASE("coe refuses a backend the CPU cannot run, and unknown input") {
    Run r = run_coe("backends --backend avx512 --disable-cpu avx512f");
    CHECK(r.status == 1);
    CHECK(r.out.find("backend 'avx512' requested by the API cannot be used: cpu lacks avx512f") != std::string::npos);
    CHECK(run_coe("frobnicate").status == 2);
    CHECK(run_coe("backends --bogus").status == 2);
    CHECK(run_coe("backends --disable-cpu avx9").status == 2);
    CHECK(run_coe("--help").status == 0);
}

TEST_CASE(
    "device routing settings: a bad value is an error naming it, on the command line, in the environment "
    "and in the config file") {
    Run r = run_coe("backends --device-routing sometimes");
    CHECK(r.status != 0);
    CHECK(r.out.find("--device-routing: 'sometimes' is not one of auto, off") != std::string::npos);
    r = run_coe("backends --device-min-multiply-adds 1e6");
    CHECK(r.status != 0);
    CHECK(r.out.find("--device-min-multiply-adds: '1e6' is not a whole number") != std::string::npos);
    r = run_coe("backends", "COE_DEVICE_ROUTING=gpu");
    CHECK(r.status != 0);
    CHECK(r.out.find("COE_DEVICE_ROUTING: 'gpu' is not one of auto, off") != std::string::npos);
    r = run_coe("backends", "COE_DEVICE_MIN_MULTIPLY_ADDS=-5");
    CHECK(r.status != 0);
    CHECK(r.out.find("COE_DEVICE_MIN_MULTIPLY_ADDS: '-5' is not a whole number") != std::string::npos);
    r = run_coe("backends --device-start-multiply-adds -1");
    CHECK(r.status != 0);
    CHECK(r.out.find("--device-start-multiply-adds: '-1' is not a whole number") != std::string::npos);
    r = run_coe("backends", "COE_DEVICE_START_MULTIPLY_ADDS=3e9");
    CHECK(r.status != 0);
    CHECK(r.out.find("COE_DEVICE_START_MULTIPLY_ADDS: '3e9' is not a whole number") != std::string::npos);
    r = run_coe("backends", "COE_DEVICE_ROUTING_ALLOW_CPU=yes");
    CHECK(r.status != 0);
    CHECK(r.out.find("COE_DEVICE_ROUTING_ALLOW_CPU: 'yes' is not 0 or 1") != std::string::npos);

    const auto dir = std::filesystem::temp_directory_path();
    const auto mode = dir / "coe-cli-test-device-routing.json", size = dir / "coe-cli-test-device-size.json";
    std::ofstream(mode) << R"({"device_routing": "always"})";
    std::ofstream(size) << R"({"device_min_multiply_adds": 2.5})";
    r = run_coe("backends --config " + mode.string());
    CHECK(r.status != 0);
    CHECK(r.out.find("config " + mode.string() + ": field 'device_routing' must be one of auto, off") !=
          std::string::npos);
    r = run_coe("backends --config " + size.string());
    CHECK(r.status != 0);
    CHECK(r.out.find("config " + size.string() + ": field 'device_min_multiply_adds' must be a whole number") !=
          std::string::npos);
    std::ofstream(size) << R"({"device_start_multiply_adds": "soon"})";
    r = run_coe("backends --config " + size.string());
    CHECK(r.status != 0);
    CHECK(r.out.find("config " + size.string() + ": field 'device_start_multiply_adds' must be a whole number") !=
          std::string::npos);
    // good values pass; the command line comes first: the environment is not consulted
    CHECK(run_coe("backends --device-routing off --device-min-multiply-adds 5000000 --device-start-multiply-adds 0")
              .status == 0);
    CHECK(run_coe("backends --device-routing off", "COE_DEVICE_ROUTING=gpu").status == 0);
    std::filesystem::remove(mode);
    std::filesystem::remove(size);
}

TEST_CASE("coe backends prints a readable table") {
    Run r = run_coe("backends");
    REQUIRE(r.status == 0);
    CHECK(r.out.find("cpu features:") == 0);
    CHECK(r.out.find("active: ") != std::string::npos);
}

TEST_CASE("coe analyze with no file reports on the shipped example") {
    Run text = run_coe("analyze");
    REQUIRE(text.status == 0);
    CHECK(text.out.find("Consensus: ") != std::string::npos);
    CHECK(text.out.find("Recommendations") != std::string::npos);
    Run json = run_coe("analyze --json --backend scalar");
    REQUIRE(json.status == 0);
    auto doc = boost::json::parse(json.out);
    CHECK(doc.at("backend") == "scalar");
    CHECK(doc.at("id") == "example-retry-policy");
    CHECK(doc.at("clusters").as_array().size() >= 2);
}

TEST_CASE("coe analyze on the MT-Bench file: one JSON line per panel, in order") {
    const auto file = coe::test::shared_data_dir() / "mtbench-panels.jsonl";
    Run r = run_coe("analyze " + file.string() + " --json --threads 2");
    REQUIRE(r.status == 0);
    std::istringstream lines(r.out);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        auto doc = boost::json::parse(line);
        CHECK(doc.at("experts").as_array().size() == 31);
        ++n;
    }
    CHECK(n == 80);
}

TEST_CASE("coe analyze: a bad line yields an error record, the others are analysed, exit status 3") {
    const auto file = std::filesystem::temp_directory_path() / "coe-cli-test-mixed.jsonl";
    {
        std::ofstream out(file);
        out << R"({"id":"ok1","responses":[{"expert":"a","content":"x y"},{"expert":"b","content":"x z"}]})"
            << "\n"
            << R"({"id":"bad","responses":[{"expert":"a","content":"x","confidence":2}]})"
            << "\n"
            << "{not json\n"
            << R"({"id":"ok2","responses":[{"expert":"a","content":"q"}]})"
            << "\n";
    }
    Run r = run_coe("analyze " + file.string() + " --json");
    CHECK(r.status == 3);
    std::istringstream lines(r.out);
    std::vector<boost::json::value> docs;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("{", 0) == 0) docs.push_back(boost::json::parse(line));
    REQUIRE(docs.size() == 4);
    CHECK(docs[0].at("id") == "ok1");
    CHECK(docs[1].at("line") == 2);
    CHECK(std::string(docs[1].at("error").as_string()).find(":2: responses[0].confidence: 2 is outside [0, 1]") !=
          std::string::npos);
    CHECK(docs[2].at("line") == 3);
    CHECK(std::string(docs[2].at("error").as_string()).find("invalid JSON") != std::string::npos);
    CHECK(docs[3].at("id") == "ok2");
}

TEST_CASE("coe analyze: a bad first line on stdin loses no panel; pretty-printed documents still work") {
    const auto corpus = coe::test::shared_data_dir() / "mtbench-panels.jsonl";
    const auto bad_first = std::filesystem::temp_directory_path() / "coe-cli-test-badfirst.txt";
    {
        std::ofstream out(bad_first);
        out << "{\"id\": \"broken\", \"responses\": [\n";
        std::ifstream in(corpus);
        std::string line;
        for (int i = 0; i < 79 && std::getline(in, line); ++i) out << line << "\n";
    }
    for (const std::string &input : {"- < " + bad_first.string(), bad_first.string()}) {
        Run r = run_coe("analyze " + input + " --json");
        CHECK(r.status == 3);
        std::size_t reports = 0, errors = 0;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("{", 0) != 0) continue;
            const auto doc = boost::json::parse(line);
            if (doc.as_object().contains("error")) {
                ++errors;
                CHECK(doc.at("line") == 1);
            } else {
                ++reports;
            }
        }
        CHECK(reports == 79);
        CHECK(errors == 1);
    }
    const auto pretty = std::filesystem::temp_directory_path() / "coe-cli-test-pretty.json";
    std::ofstream(pretty) << "{\n  \"id\": \"p\",\n  \"responses\": [\n    {\"expert\": \"a\", \"content\": \"x y\"},\n"
                             "    {\"expert\": \"b\", \"content\": \"x z\"}\n  ]\n}\n";
    CHECK(run_coe("analyze " + pretty.string() + " --json").status == 0);
    std::ofstream(pretty) << "{\n  \"id\": \"p\",\n  \"responses\": [\n    {\"expert\": \"a\", \"content\": \"x y\"},\n"
                             "    {\"expert\": \"b\", \"content\": \"x z\"}\n  \n}\n";
    Run broken = run_coe("analyze " + pretty.string() + " --json");
    CHECK(broken.status == 3);
    CHECK(broken.out.find("invalid JSON") != std::string::npos);
}

TEST_CASE("coe analyze names what is wrong with odd input, once, and keeps terminals safe") {
    const auto dir = std::filesystem::temp_directory_path();
    auto write = [&](const std::string &name, const std::string &text) {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    };
    Run bom = run_coe("analyze " +
                      write("coe-bom.json", "\xEF\xBB\xBF{\"responses\":[{\"expert\":\"a\",\"content\":\"x y\"}]}\n") +
                      " --json");
    CHECK(bom.status == 0);
    Run surrogate =
        run_coe("analyze " + write("coe-surrogate.json", R"({"responses":[{"expert":"a","content":"x \ud800 y"}]})") +
                " --json");
    CHECK(surrogate.status == 3);
    CHECK(surrogate.out.find("surrogate escape") != std::string::npos);
    Run utf8 =
        run_coe("analyze " + write("coe-utf8.json", "{\"responses\":[{\"expert\":\"a\",\"content\":\"x \xff y\"}]}") +
                " --json");
    CHECK(utf8.out.find("invalid UTF-8") != std::string::npos);
    Run esc = run_coe("analyze " +
                      write("coe-esc.json", R"({"responses":[{"expert":"a\u001b[2J","content":"b \u001b[2J"}]})"));
    CHECK(esc.status == 0);
    CHECK(esc.out.find('\x1b') == std::string::npos);
    Run directory = run_coe("analyze " + dir.string());
    CHECK(directory.status == 1);
    CHECK(directory.out.find("is a directory") != std::string::npos);
    Run endless = run_coe("analyze /dev/zero --max-input-mb 4");
    CHECK(endless.status == 1);
    CHECK(endless.out.find("input exceeds 4 MiB") != std::string::npos);
    Run usage = run_coe("analyze --cluster-threshold 5");
    CHECK(usage.out.find("coe analyze: --cluster-threshold expects a number in [-1, 1], got '5'") == 0);
    Run plugin = run_coe("analyze --plugin-path /nonexistent/plugin.so");
    CHECK(plugin.status == 2);
    CHECK(plugin.out.find("--plugin-path /nonexistent/plugin.so: no such file or folder") != std::string::npos);
}

TEST_CASE("coe analyze refuses what it cannot read") {
    CHECK(run_coe("analyze /nonexistent/panels.jsonl").status == 1);
    CHECK(run_coe("analyze --threads zero").status == 2);
    CHECK(run_coe("analyze --quorum 1.5").status == 2);
    CHECK(run_coe("analyze --json --text").status == 2);
    CHECK(run_coe("analyze --frobnicate").status == 2);
    CHECK(run_coe("analyze --prometheus").status == 2);
    CHECK(run_coe("analyze --inject-fault avx2:melt").status == 2);
    const auto empty = std::filesystem::temp_directory_path() / "coe-cli-test-empty.jsonl";
    std::ofstream(empty) << "\n";
    Run r = run_coe("analyze " + empty.string());
    CHECK(r.status == 1);
    CHECK(r.out.find("no panels in the input") != std::string::npos);
}

TEST_CASE("coe analyze --inject-fault: the same reports as a clean run, avx2 demoted, scalar serving") {
    if ((coe::probe_cpu_features() & COE_CPU_AVX2) == 0) {
        MESSAGE("this CPU has no AVX2; the avx2 backend cannot be demonstrated here");
        return;
    }
    const auto file = coe::test::shared_data_dir() / "mtbench-panels.jsonl";
    const auto report_file = std::filesystem::temp_directory_path() / "coe-cli-test-report.json";
    Run clean = run_coe("analyze " + file.string() + " --json --backend avx2");
    Run faulty = run_coe("analyze " + file.string() + " --json --backend avx2 --inject-fault avx2:nan:1.0 --report " +
                         report_file.string());
    REQUIRE(clean.status == 0);
    REQUIRE(faulty.status == 0);
    auto strip = [](const std::string &out) {
        std::vector<boost::json::object> docs;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            auto o = boost::json::parse(line).as_object();
            for (const char *k : {"timing_ms", "served_by", "degraded", "events"}) o.erase(k);
            docs.push_back(std::move(o));
        }
        return docs;
    };
    const auto a = strip(clean.out), b = strip(faulty.out);
    REQUIRE(a.size() == 80);
    CHECK(a == b);
    std::istringstream first(faulty.out);
    std::string line;
    std::getline(first, line);
    CHECK(boost::json::parse(line).at("degraded") == true);

    std::ifstream in(report_file);
    std::stringstream text;
    text << in.rdbuf();
    const auto report = boost::json::parse(text.str());
    int open_avx2 = 0;
    for (const auto &br : report.at("breakers").as_array())
        if (br.at("backend") == "avx2" && br.at("state") == "open") ++open_avx2;
    CHECK(open_avx2 == 5);  // one per operation
    CHECK(report.at("results").at("accelerated").as_int64() == 0);
    CHECK(report.at("panels").at("availability").to_number<double>() == 1.0);
}

TEST_CASE("coe vectors import and info: the converted file, its numbers, and named errors") {
    const auto dir = std::filesystem::temp_directory_path() / "coe-cli-test-vectors";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string json = (dir / "vectors.json").string(), out = (dir / "word-vectors.coewv").string();
    // wink's shape: 2 dimensions, then the L2 norm and the index
    std::ofstream(json) << R"({"dimensions":2,"words":["the",",","cat"],"vectors":{)"
                        << R"("the":[0.5,-0.25,0.559,0],",":[1,2,2.236,1],"cat":[0.1,0.2,0.224,2]},)"
                        << R"("unkVector":[0,0,0,-1]})";
    Run import = run_coe("vectors import " + json + " --output " + out);
    REQUIRE(import.status == 0);
    CHECK(import.out.find("words read       3\n") != std::string::npos);
    CHECK(import.out.find("words kept       2\n") != std::string::npos);
    CHECK(import.out.find("words dropped    1 ") != std::string::npos);
    CHECK(import.out.find("dimensions       2\n") != std::string::npos);
    CHECK(import.out.find("bytes written    " + std::to_string(std::filesystem::file_size(out)) + " bytes") !=
          std::string::npos);

    Run info = run_coe("vectors info " + out);
    REQUIRE(info.status == 0);
    CHECK(info.out.find("file        " + out + "\n") != std::string::npos);
    CHECK(info.out.find("dimensions  2\n") != std::string::npos);
    CHECK(info.out.find("words       2 (4 slots)\n") != std::string::npos);
    CHECK(info.out.find(" ms (mapped and validated") != std::string::npos);

    // without FILE: the one in COE_DATA_DIR, or each place searched
    Run found = run_coe("vectors info", "COE_DATA_DIR=" + dir.string());
    CHECK(found.status == 0);
    CHECK(found.out.find("file        " + out + " (COE_DATA_DIR)\n") != std::string::npos);
    Run none = run_coe("vectors info", "COE_DATA_DIR=" + (dir / "empty").string());
    CHECK(none.status == 1);
    CHECK(none.out.find("no word-vector file found; searched:\n  COE_DATA_DIR " + (dir / "empty").string() +
                        "/word-vectors.coewv: no such file\n") != std::string::npos);

    // a damaged file and bad JSON are named
    {
        std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-1, std::ios::end);
        f.put('\x7f');
    }
    Run damaged = run_coe("vectors info " + out);
    CHECK(damaged.status == 1);
    CHECK(damaged.out.find("coe vectors: " + out + ": checksum mismatch") == 0);
    std::ofstream(json) << R"({"vectors":{"the":[0.5,"x",0.5,0]}})";
    Run bad = run_coe("vectors import " + json + " --output " + out);
    CHECK(bad.status == 1);
    CHECK(bad.out.find("coe vectors: " + json + ": word 'the': value 1 is a string, not a number") == 0);

    CHECK(run_coe("vectors").status == 2);
    CHECK(run_coe("vectors import " + json).status == 2);
    CHECK(run_coe("vectors frobnicate").status == 2);
    CHECK(run_coe("vectors info a b").status == 2);
    std::filesystem::remove_all(dir);
}
