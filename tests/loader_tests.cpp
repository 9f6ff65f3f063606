// Discovery, validation and selection with deliberately broken plugins.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "coe/coe_plugin.h"
#include "coe/engine.hpp"
#include "test_support.hpp"

using namespace coe;
using coe::test::isolated_options;
using coe::test::test_plugin;

namespace {

using coe::test::contains;
constexpr auto only = &coe::test::backend_with_file;

// Sets an environment variable for one scope.
struct ScopedEnv {
    std::string name;
    ScopedEnv(std::string n, const std::string &value) : name(std::move(n)) {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

std::filesystem::path write_config(const std::string &name, const std::string &text) {
    auto p = std::filesystem::temp_directory_path() / ("coe-loader-test-" + name + ".json");
    std::ofstream(p) << text;
    return p;
}

EngineOptions env_options(std::vector<std::filesystem::path> api_paths = {}) {
    EngineOptions o = isolated_options(std::move(api_paths));
    o.use_environment = true;
    return o;
}

}  // namespace

TEST_CASE("with no plugin files the built-in scalar backend serves") {
    Engine e(isolated_options({}));
    REQUIRE(e.backends().size() == 1);
    CHECK(e.backends()[0].file == "<built-in>");
    CHECK(e.backends()[0].status == BackendStatus::active);
    CHECK(e.active_backend() == "scalar");
    CHECK(e.backend_for(COE_OP_SIMILARITY) == "scalar");
}

TEST_CASE("a missing file is rejected, not fatal") {
    Engine e(isolated_options({"/nonexistent/coe_plugin_missing.so"}));
    const auto &b = only(e, "coe_plugin_missing.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(b.reason == "file not found");
    CHECK(e.active_backend() == "scalar");
}

TEST_CASE("a shared object that is not a plugin is rejected without loading") {
    Engine e(isolated_options({test_plugin("not_a_plugin")}));
    const auto &b = only(e, "not_a_plugin.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(contains(b.reason, "not a coe plugin"));
    CHECK_FALSE(coe::test::is_mapped(test_plugin("not_a_plugin")));
}

TEST_CASE("a file that is not even ELF is rejected") {
    auto junk = std::filesystem::temp_directory_path() / "coe-loader-test-junk.so";
    std::ofstream(junk) << "this is not a shared object";
    Engine e(isolated_options({junk}));
    CHECK(only(e, "coe-loader-test-junk.so").reason == "not an ELF file");
}

TEST_CASE("an ABI major mismatch is rejected from the manifest, before loading") {
    // the plugin aborts in a static initialiser: loading it would end this test
    Engine e(isolated_options({test_plugin("tp_abi_major")}));
    const auto &b = only(e, "tp_abi_major.so");
    CHECK(b.status == BackendStatus::rejected);
    const std::string minor = std::to_string(COE_ABI_MINOR);
    CHECK(b.reason == "abi 2." + minor + " > host 1." + minor);  // both versions named
    CHECK_FALSE(coe::test::is_mapped(test_plugin("tp_abi_major")));
}

TEST_CASE("an unmet CPU requirement is rejected before loading") {
    Engine e(isolated_options({test_plugin("tp_impossible_cpu")}));
    const auto &b = only(e, "tp_impossible_cpu.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(b.reason == "cpu lacks reserved-never (not loaded)");
    CHECK(b.score == 0);
    CHECK_FALSE(coe::test::is_mapped(test_plugin("tp_impossible_cpu")));
}

TEST_CASE("a plugin without the entry symbol is rejected") {
    Engine e(isolated_options({test_plugin("tp_no_entry")}));
    CHECK(only(e, "tp_no_entry.so").reason == "missing entry symbol coe_plugin_entry");
}

TEST_CASE("a malformed descriptor is rejected") {
    Engine e(isolated_options({test_plugin("tp_bad_descriptor")}));
    const auto &b = only(e, "tp_bad_descriptor.so");
    CHECK(b.status == BackendStatus::rejected);
    CHECK(contains(b.reason, "malformed descriptor: struct_size 8"));
}

TEST_CASE("a valid test plugin loads, reports its operations and can be forced") {
    Engine e(isolated_options({test_plugin("tp_good_a")}, "testgood"));
    const auto &b = only(e, "tp_good_a.so");
    CHECK(b.status == BackendStatus::active);
    CHECK(b.reason == "forced by the API");
    CHECK(b.version == "1.0.0");
    CHECK(b.operations == std::vector<std::string>{"coe.featurize/1", "coe.similarity/1"});
    CHECK(e.backend_for(COE_OP_FEATURIZE) == "testgood");
    auto m = e.similarity(e.featurize({"alpha beta gamma", "alpha beta delta"}));
    CHECK(m(0, 1) > 0.f);
}

TEST_CASE("coe.featurize /1 and /2 side by side: each chain calls the newest revision its head provides") {
    // the built-in backends (/2 and /1) beside a plugin built for /1 only,
    // every call shadow-checked against the scalar reference
    EngineOptions o = isolated_options({test_plugin("tp_good_a"), coe::test::backend_plugin_dir()});
    o.resilience.shadow_rate = 1;
    Engine modern(o);  // the best built-in is active: /2; the /1-only plugin stays out of featurize
    o.backend = "testgood";
    Engine legacy(o);  // forced to the /1-only plugin: the featurize chain runs /1
    Engine reference(isolated_options({}));

    const auto panels = coe::test::mtbench_panel_texts();
    REQUIRE(!panels.empty());
    Panel p;
    for (std::size_t i = 0; i < panels[0].size(); ++i)
        p.responses.push_back({"e" + std::to_string(i), panels[0][i], std::nullopt, std::nullopt, std::nullopt, {}});
    const Report a = modern.analyze(p.view()), b = legacy.analyze(p.view());
    CHECK(a.served_by.at(COE_OP_FEATURIZE) == modern.active_backend());
    CHECK(b.served_by.at(COE_OP_FEATURIZE) == "testgood");
    CHECK_FALSE(a.degraded);
    CHECK_FALSE(b.degraded);  // shadow checks compared /1 with scalar's /1: no mismatch
    for (const auto &e : a.events) CHECK(e.find("shadow_mismatch") == std::string::npos);
    for (const auto &e : b.events) CHECK(e.find("shadow_mismatch") == std::string::npos);

    const std::vector<std::string_view> texts(panels[0].begin(), panels[0].end());
    const SparseRows v2 = modern.featurize(texts), v1 = legacy.featurize(texts);
    CHECK(v2.indices == reference.featurize(texts).indices);  // /2 everywhere the head provides it
    CHECK(v1.indices != v2.indices);                          // the revisions hash tokens differently
    CHECK(v1.row_offsets.size() == v2.row_offsets.size());
}

TEST_CASE("a plugin that provides one operation serves it; the others go to the best built-in backend") {
    Engine e(isolated_options({test_plugin("tp_partial"), coe::test::backend_plugin_dir()}, "partial"));
    CHECK(e.active_backend() == "partial");
    CHECK(e.backend_for(COE_OP_SIMILARITY) == "partial");
    std::string best;  // the highest-scoring built-in backend this CPU runs
    int best_score = 0;
    for (const auto &b : e.backends())
        if (b.status != BackendStatus::rejected && b.id.rfind("coe.backend.", 0) == 0 && b.score > best_score) {
            best = b.name;
            best_score = b.score;
        }
    CHECK(e.backend_for(COE_OP_FEATURIZE) == best);
    CHECK(e.backend_for(COE_OP_CLUSTER) == best);
    Panel p;
    p.responses = {{"a", "use argon2 with a salt", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"b", "use argon2 with a random salt", std::nullopt, std::nullopt, std::nullopt, {}}};
    const Report r = e.analyze(p.view());
    CHECK(r.served_by.at(COE_OP_SIMILARITY) == "partial");
    CHECK(r.served_by.at(COE_OP_CONSENSUS) == best);
    CHECK_FALSE(r.degraded);
}

TEST_CASE("ABI evolution: a plugin built for ABI 1.0 (smaller operation structs) loads and works") {
    // its operation structs end before the 1.1 flags field; under ASan a read
    // past them would be reported
    Engine e(isolated_options({test_plugin("tp_abi_1_0")}, "abi10"));
    CHECK(only(e, "tp_abi_1_0.so").abi == "1.0");
    CHECK(e.backend_for(COE_OP_SIMILARITY) == "abi10");
    const Matrix m = e.similarity(e.featurize({"alpha beta gamma", "alpha beta delta"}));
    CHECK(m(0, 1) > 0.f);
}

TEST_CASE("ABI evolution: a plugin built for ABI 1.4 (no get_extension) loads, and reports no device") {
    // its descriptor ends before the 1.5 get_extension field; under ASan a
    // read past it would be reported
    Engine e(isolated_options({test_plugin("tp_abi_1_4")}, "abi14"));
    const auto &b = only(e, "tp_abi_1_4.so");
    CHECK(b.status == BackendStatus::active);
    CHECK(b.abi == "1.4");
    CHECK_FALSE(b.device.has_value());
    const Matrix m = e.similarity(e.featurize({"alpha beta gamma", "alpha beta delta"}));
    CHECK(m(0, 0) == 1.f);
}

TEST_CASE("ABI evolution: a newer minor's unknown fields are ignored") {
    Engine e(isolated_options({test_plugin("tp_abi_newer")}, "abi19"));
    const auto &b = only(e, "tp_abi_newer.so");
    CHECK(b.status == BackendStatus::active);
    CHECK(b.abi == "1.9");
    const Matrix m = e.similarity(e.featurize({"alpha beta gamma", "alpha beta delta"}));
    CHECK(m(0, 0) == 1.f);
}

TEST_CASE("an operation with an algorithm of its own is served, and never shadow-compared with scalar") {
    EngineOptions o = isolated_options({test_plugin("tp_own_algorithm")}, "own");
    o.resilience.shadow_rate = 1.0;  // every call would be compared, were it not its own algorithm
    Engine e(o);
    Panel p;
    p.responses = {{"a", "use argon2 with a salt", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"b", "use argon2 with a random salt", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"c", "deploy kubernetes", std::nullopt, std::nullopt, std::nullopt, {}}};
    for (int i = 0; i < 20; ++i) {
        const Report r = e.analyze(p.view());
        CHECK(r.served_by.at(COE_OP_SIMILARITY) == "own");
        CHECK_FALSE(r.degraded);
        CHECK(r.events.empty());
    }
    // half the cosine: the plugin's own numbers reach the report
    Engine reference(isolated_options({}));
    const Report mine = e.analyze(p.view()), theirs = reference.analyze(p.view());
    CHECK(mine.consensus.score == doctest::Approx(theirs.consensus.score / 2).epsilon(1e-5));
}

TEST_CASE("duplicate ids: the first in search order wins, the later is rejected unloaded") {
    Engine e(isolated_options({test_plugin("tp_good_a"), test_plugin("tp_good_b")}));
    CHECK(only(e, "tp_good_a.so").status != BackendStatus::rejected);
    const auto &dup = only(e, "tp_good_b.so");
    CHECK(dup.status == BackendStatus::rejected);
    CHECK(contains(dup.reason, "duplicate id test.good (already provided by "));
    CHECK(contains(dup.reason, "tp_good_a.so"));
}

TEST_CASE("search-path precedence: api > COE_PLUGIN_PATH > config file") {
    ScopedEnv no_backend("COE_BACKEND", "");
    SUBCASE("api before COE_PLUGIN_PATH") {
        ScopedEnv env("COE_PLUGIN_PATH", test_plugin("tp_good_a").parent_path().string());
        Engine e(env_options({test_plugin("tp_good_b")}));
        CHECK(only(e, "tp_good_b.so").status != BackendStatus::rejected);
        CHECK(only(e, "tp_good_b.so").source == "api");
        CHECK(only(e, "tp_good_a.so").status == BackendStatus::rejected);
        CHECK(only(e, "tp_good_a.so").source == "COE_PLUGIN_PATH");
    }
    SUBCASE("COE_PLUGIN_PATH before the config file") {
        ScopedEnv env("COE_PLUGIN_PATH", "/nonexistent-folder:" + test_plugin("tp_good_b").string());
        auto cfg = write_config("precedence", "{\"plugin_paths\": [\"" + test_plugin("tp_good_a").string() + "\"]}");
        EngineOptions o = env_options();
        o.config_file = cfg;
        Engine e(o);
        CHECK(only(e, "tp_good_b.so").source == "COE_PLUGIN_PATH");
        CHECK(only(e, "tp_good_b.so").status != BackendStatus::rejected);
        CHECK(only(e, "tp_good_a.so").source == "config");
        CHECK(only(e, "tp_good_a.so").status == BackendStatus::rejected);
        CHECK(only(e, "nonexistent-folder").reason == "file not found");
    }
}

TEST_CASE("forcing and refusing through COE_BACKEND, the config file and the API") {
    const std::vector<std::filesystem::path> paths{test_plugin("tp_good_a"), test_plugin("tp_impossible_cpu")};
    SUBCASE("COE_BACKEND forces an available backend") {
        ScopedEnv env("COE_BACKEND", "testgood");
        Engine e(env_options(paths));
        CHECK(e.active_backend() == "testgood");
        CHECK(only(e, "tp_good_a.so").reason == "forced by COE_BACKEND");
    }
    SUBCASE("COE_BACKEND=auto picks the best") {
        ScopedEnv env("COE_BACKEND", "auto");
        Engine e(env_options({test_plugin("tp_good_a")}));
        CHECK(e.active_backend() == "testgood");  // ties keep search order; built-in comes last
    }
    SUBCASE("forcing a backend the CPU cannot run is an error, not an attempt") {
        ScopedEnv env("COE_BACKEND", "impossible");
        CHECK_THROWS_WITH_AS(Engine{env_options(paths)},
                             "backend 'impossible' requested by COE_BACKEND cannot be used: cpu lacks "
                             "reserved-never (not loaded)",
                             coe::Error);
        CHECK_FALSE(coe::test::is_mapped(test_plugin("tp_impossible_cpu")));
    }
    SUBCASE("forcing an unknown backend names the candidates") {
        ScopedEnv env("COE_BACKEND", "nosuch");
        CHECK_THROWS_WITH_AS(Engine{env_options(paths)},
                             doctest::Contains("backend 'nosuch' requested by COE_BACKEND is unknown"), coe::Error);
    }
    SUBCASE("the API overrides COE_BACKEND") {
        ScopedEnv env("COE_BACKEND", "impossible");
        EngineOptions o = env_options(paths);
        o.backend = "scalar";
        CHECK(Engine(o).active_backend() == "scalar");
    }
    SUBCASE("the config file forces when nothing else does") {
        ScopedEnv env("COE_BACKEND", "");
        EngineOptions o = env_options(paths);
        o.config_file = write_config("force", R"({"backend": "testgood"})");
        Engine e(o);
        CHECK(e.active_backend() == "testgood");
        CHECK(contains(only(e, "tp_good_a.so").reason, "forced by config"));
    }
}

TEST_CASE("bad config files are clear errors naming file, line and field") {
    EngineOptions o = isolated_options({});
    o.config_file = write_config("syntax", "{\n  \"backend\": \"avx2\",\n  oops\n}");
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("coe-loader-test-syntax.json:3:3: invalid JSON"), coe::Error);
    o.config_file = write_config("unknown", R"({"backnd": "avx2"})");
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("unknown field 'backnd'"), coe::Error);
    o.config_file = write_config("type", R"({"plugin_paths": "not-a-list"})");
    CHECK_THROWS_WITH_AS(Engine{o}, doctest::Contains("field 'plugin_paths' must be an array of strings"), coe::Error);
    o.config_file = "/nonexistent/coe.json";
    CHECK_THROWS_WITH_AS(Engine{o}, "config /nonexistent/coe.json: cannot open file", coe::Error);
}

TEST_CASE("masking a feature masks what depends on it") {
    EngineOptions o = isolated_options({});
    o.mask_cpu_features = COE_CPU_AVX2;
    CHECK((Engine(o).cpu_features() & (COE_CPU_AVX2 | COE_CPU_AVX512F | COE_CPU_AVX512BW)) == 0);
    o.mask_cpu_features = COE_CPU_AVX;
    CHECK((Engine(o).cpu_features() & (COE_CPU_AVX | COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_AVX512F)) == 0);
}

TEST_CASE("built-in backends: masked CPU features reject wider backends without loading them") {
    // Runs in its own process (see CMakeLists) so no earlier case has loaded avx512.
    EngineOptions o = isolated_options({coe::test::backend_plugin_dir()});
    o.mask_cpu_features = COE_CPU_AVX512F;
    Engine e(o);
    const auto &avx512 = only(e, "coe_backend_avx512.so");
    CHECK(avx512.status == BackendStatus::rejected);
    CHECK(contains(avx512.reason, "cpu lacks avx512f"));
    CHECK(avx512.score == 0);
    CHECK_FALSE(coe::test::is_mapped(coe::test::backend_plugin_dir() / "coe_backend_avx512.so"));
    if (e.cpu_features() & COE_CPU_AVX2) {
        CHECK(e.active_backend() == "avx2");
        CHECK(only(e, "coe_backend_scalar.so").status == BackendStatus::available);
    }
}
