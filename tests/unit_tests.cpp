// Unit tests of the engine's internal pieces: CPU decoding, manifests,
// descriptor validation, config parsing.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <variant>

#include "coe/coe_plugin.h"
#include "coe/cpu_features.hpp"
#include "coe/error.hpp"
#include "coe/json_text.hpp"
#include "config/engine_config.hpp"
#include "coe/internal/json_document.hpp"
#include "coe/internal/shortest_double.hpp"
#include "plugins/descriptor_validation.hpp"
#include "plugins/elf_manifest.hpp"
#include "test_support.hpp"

using namespace coe;

namespace {

// A Sapphire-Rapids-like register set: everything up to AVX-512 BW/VL.
CpuidRegisters avx512_cpu(std::uint64_t xcr0) {
    CpuidRegisters r;
    r.max_leaf = 7;
    r.leaf1_edx = 1u << 26;
    r.leaf1_ecx = (1u << 0) | (1u << 9) | (1u << 12) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 27) | (1u << 28);
    r.leaf7_ebx = (1u << 3) | (1u << 5) | (1u << 8) | (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    r.leaf7_ecx = 1u << 11;
    r.xcr0 = xcr0;
    return r;
}

coe_status noop_op(void *, const coe_call *) { return COE_OK; }

}  // namespace

TEST_CASE("cpu decoding honours the OS-enabled register state") {
    const std::uint64_t all = decode_cpu_features(avx512_cpu(0xe7));
    CHECK((all & COE_CPU_AVX512F) != 0);
    CHECK((all & COE_CPU_AVX512BW) != 0);
    CHECK((all & COE_CPU_AVX512VNNI) != 0);
    CHECK((all & COE_CPU_AVX2) != 0);

    // the CPU has AVX-512 but the OS does not save ZMM/opmask state
    const std::uint64_t no_zmm = decode_cpu_features(avx512_cpu(0x07));
    CHECK((no_zmm & COE_CPU_AVX2) != 0);
    CHECK((no_zmm & COE_CPU_FMA) != 0);
    CHECK((no_zmm & (COE_CPU_AVX512F | COE_CPU_AVX512BW | COE_CPU_AVX512VL)) == 0);

    // the OS saves no AVX state at all
    const std::uint64_t no_ymm = decode_cpu_features(avx512_cpu(0x03));
    CHECK((no_ymm & (COE_CPU_AVX | COE_CPU_AVX2 | COE_CPU_FMA | COE_CPU_AVX512F)) == 0);
    CHECK((no_ymm & COE_CPU_SSE42) != 0);

    // OSXSAVE off: xgetbv is not even allowed
    CpuidRegisters r = avx512_cpu(0xe7);
    r.leaf1_ecx &= ~(1u << 27);
    CHECK((decode_cpu_features(r) & COE_CPU_AVX) == 0);

    CHECK(decode_cpu_features(CpuidRegisters{}) == 0);
}

TEST_CASE("cpu feature names round-trip") {
    for (const auto &name : cpu_feature_names(~std::uint64_t{0})) {
        auto bit = cpu_feature_from_name(name);
        REQUIRE(bit.has_value());
        CHECK(cpu_feature_names(*bit) == std::vector<std::string>{name});
    }
    CHECK_FALSE(cpu_feature_from_name("avx1024").has_value());
    CHECK((probe_cpu_features() & COE_CPU_RESERVED_NEVER) == 0);
}

TEST_CASE("the manifest is read from the file of every built-in plugin") {
    for (const char *name : {"scalar", "avx2", "avx512"}) {
        auto file = coe::test::backend_plugin_dir() / (std::string("coe_backend_") + name + ".so");
        if (!std::filesystem::exists(file) && std::strcmp(name, "scalar") != 0) continue;  // non-x86 build
        auto m = detail::read_plugin_manifest(file);
        REQUIRE(std::holds_alternative<coe_plugin_manifest>(m));
        const auto &mf = std::get<coe_plugin_manifest>(m);
        CHECK(std::string(mf.name) == name);
        CHECK(mf.abi_major == COE_ABI_MAJOR);
        CHECK(std::string(mf.id) == std::string("coe.backend.") + name);
    }
    auto avx512 = detail::read_plugin_manifest(coe::test::backend_plugin_dir() / "coe_backend_avx512.so");
    if (auto *m = std::get_if<coe_plugin_manifest>(&avx512)) CHECK((m->required_cpu_features & COE_CPU_AVX512BW) != 0);
    auto none = detail::read_plugin_manifest(coe::test::test_plugin("not_a_plugin"));
    REQUIRE(std::holds_alternative<std::string>(none));
    CHECK(std::get<std::string>(none) == "no .coe_manifest section: not a coe plugin");
    CHECK(std::get<std::string>(detail::read_plugin_manifest("/nonexistent.so")) == "cannot open file");
}

TEST_CASE("descriptor validation names what is wrong") {
    coe_operation op{sizeof(coe_operation), 1, COE_OP_SIMILARITY, &noop_op, 0, 0};
    const coe_operation *ops[] = {&op, &op};
    coe_plugin_descriptor d{
        sizeof d, COE_ABI_MAJOR, COE_ABI_MINOR, "x.id", "x", "1.0", "test", 0, COE_THREAD_SAFETY_REENTRANT,
        1,        ops,           nullptr};
    CHECK(detail::validate_descriptor(&d, nullptr).empty());

    auto broken = [&](auto change) {
        coe_plugin_descriptor copy = d;
        change(copy);
        return detail::validate_descriptor(&copy, nullptr);
    };
    CHECK(detail::validate_descriptor(nullptr, nullptr) ==
          "entry point returned no descriptor (the plugin refused this host)");
    CHECK(broken([](auto &c) { c.struct_size = 4; }).find("struct_size 4") != std::string::npos);
    CHECK(broken([](auto &c) { c.struct_size = 1u << 30; }).find("malformed descriptor") == 0);
    CHECK(broken([](auto &c) {
              c.abi_major = 2;
              c.abi_minor = 0;
          }) == "abi 2.0 > host 1." + std::to_string(COE_ABI_MINOR));
    CHECK(broken([](auto &c) {
              c.abi_major = 0;
              c.abi_minor = 3;
          }) == "abi 0.3 < host 1." + std::to_string(COE_ABI_MINOR));
    CHECK(broken([](auto &c) { c.name = nullptr; }).find("id, name or version") != std::string::npos);
    CHECK(broken([](auto &c) { c.thread_safety = 9; }).find("thread_safety") != std::string::npos);
    CHECK(broken([](auto &c) { c.operation_count = 0; }).find("operation table") != std::string::npos);
    CHECK(broken([](auto &c) { c.operation_count = 2; }).find("repeats coe.similarity/1") != std::string::npos);

    // a newer minor may append fields: a larger struct_size is accepted
    CHECK(broken([](auto &c) { c.struct_size = sizeof c + 64; }).empty());

    coe_plugin_manifest m{};
    std::strcpy(m.id, "x.id");
    std::strcpy(m.name, "x");
    m.abi_major = COE_ABI_MAJOR;
    CHECK(detail::validate_descriptor(&d, &m).empty());
    m.required_cpu_features = COE_CPU_AVX2;
    CHECK(detail::validate_descriptor(&d, &m).find("CPU features differ") != std::string::npos);
    m.required_cpu_features = 0;
    std::strcpy(m.name, "y");
    CHECK(detail::validate_descriptor(&d, &m).find("differ from the manifest") != std::string::npos);
}

TEST_CASE("JSON errors carry line and column") {
    CHECK_THROWS_WITH_AS(internal::parse_json("{\"a\": 1,\n \"b\": }", "input"),
                         doctest::Contains("input:2:7: invalid JSON"), coe::Error);
    CHECK_THROWS_WITH_AS(internal::parse_json("{} {}", "x", 41), doctest::Contains("x:42:4: invalid JSON"), coe::Error);
    CHECK(internal::parse_json(" {\"a\": [1, 2]}\n", "ok").at("a").as_array().size() == 2);
}

TEST_CASE("path lists split on colons and drop empty entries") {
    auto v = detail::split_path_list("a::/b/c:");
    REQUIRE(v.size() == 2);
    CHECK(v[0] == "a");
    CHECK(v[1] == "/b/c");
    CHECK(detail::split_path_list("").empty());
}

TEST_CASE("JSON text prints numbers as people write them, and reads back exactly") {
    namespace json = boost::json;
    CHECK(coe::json_text(json::value(0.0847)) == "0.0847");
    CHECK(coe::json_text(json::value(1.0)) == "1");
    CHECK(coe::json_text(json::value(336491.0)) == "336491");
    CHECK(coe::json_text(json::value(-2.5)) == "-2.5");
    CHECK(coe::json_text(json::value(1e-7)) == "1e-07");
    CHECK(coe::json_text(json::value(std::nan(""))) == "null");
    CHECK(coe::json_text(json::value(-HUGE_VAL)) == "null");
    CHECK(coe::json_text(json::value(std::uint64_t{18446744073709551615ull})) == "18446744073709551615");
    CHECK(coe::json_text(json::value(std::int64_t{-42})) == "-42");
    for (double x : {0.1, 1.0 / 3.0, 123456.789, 5e-324, 1.7976931348623157e308, 0.084671})
        CHECK(json::parse(coe::json_text(json::value(x))).to_number<double>() == x);
    const json::value doc = {{"s", "quote \" backslash \\ tab \t nl \n ctl \x01 caf\xc3\xa9"},
                             {"a", json::array{true, false, nullptr, 0.5}},
                             {"o", json::object{}}};
    const std::string text = coe::json_text(doc);
    CHECK(text == R"({"s":"quote \" backslash \\ tab \t nl \n ctl \u0001 café","a":[true,false,null,0.5],"o":{}})");
    CHECK(json::parse(text) == doc);
}

TEST_CASE("JsonWriter writes what json_text writes for the same document") {
    std::string out;
    coe::JsonWriter w(out);
    w.begin_object()
        .key("a")
        .begin_array()
        .value(1)
        .value(0.25)
        .value("x\"y")
        .begin_object()
        .end_object()
        .begin_array()
        .end_array()
        .end_array()
        .key("b")
        .value(true)
        .key("c")
        .null()
        .key("d")
        .strings({"p", "q", "r"}, 2)
        .key("e")
        .value(std::nan(""))
        .key("f")
        .value(std::uint64_t{336491})
        .key("g\"h")  // a literal key that needs escaping
        .value(-0.000001)
        .key(std::string("k\n"))  // a key made at run time
        .value(std::int64_t{-3})
        .end_object();
    const boost::json::value doc = {
        {"a", boost::json::array{1, 0.25, "x\"y", boost::json::object{}, boost::json::array{}}},
        {"b", true},
        {"c", nullptr},
        {"d", boost::json::array{"p", "q"}},
        {"e", nullptr},
        {"f", 336491},
        {"g\"h", -0.000001},
        {"k\n", -3}};
    CHECK(out == coe::json_text(doc));
    CHECK(out ==
          R"({"a":[1,0.25,"x\"y",{},[]],"b":true,"c":null,"d":["p","q"],"e":null,"f":336491,"g\"h":-1e-06,"k\n":-3})");
}

// The writer gathers text in a 4 KiB buffer: documents far larger, strings
// longer than the buffer and strings full of escapes come out whole.
TEST_CASE("JsonWriter: documents larger than its buffer") {
    std::string out = "prefix:";  // the writer appends
    coe::JsonWriter w(out);
    boost::json::array expected;
    w.begin_array();
    for (int i = 0; i < 3000; ++i) {
        std::string s(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26));
        if (i % 5 == 0) s += "\"\n\\\x01";
        if (i % 1000 == 7) s.assign(9000, 'z');
        w.value(s).value(i * 0.001);
        expected.emplace_back(boost::json::string_view(s.data(), s.size()));
        expected.emplace_back(i * 0.001);
    }
    w.end_array();
    CHECK(out == "prefix:" + coe::json_text(expected));
}

// The Ryu fallback of write_shortest (what builds without floating-point
// std::to_chars use, e.g. WebAssembly) writes exactly what std::to_chars writes.
// Reports round their numbers to six decimals: write_shortest writes those
// from their integer digits, and must agree with std::to_chars on every one.
TEST_CASE("write_micro_decimal writes what std::to_chars writes, or declines") {
    const auto same_as_to_chars = [](double x) {
        char expected[64], got[64];
        const std::string e(expected, std::to_chars(expected, expected + sizeof expected, x).ptr);
        char *end = coe::internal::write_micro_decimal(x, got);
        if (end == nullptr) return true;  // declined: write_shortest falls back to to_chars
        const std::string g(got, end);
        CHECK_MESSAGE(g == e, "value " << e);
        return g == e;
    };
    char out[64];
    int taken = 0;
    for (std::int64_t k = -2000000; k <= 2000000; k += 7) {  // every magnitude of [-2, 2], zero left out
        const double x = static_cast<double>(k) / 1e6;
        REQUIRE(same_as_to_chars(x));
        taken += coe::internal::write_micro_decimal(x, out) != nullptr;
    }
    CHECK(taken == 571429);  // the fast path takes every one
    std::uint64_t state = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < 300000; ++i) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        const double scale = std::pow(10.0, static_cast<double>(state % 16));  // up to 10^15 millionths
        REQUIRE(same_as_to_chars(std::round(static_cast<double>(state >> 12) / 4503599627370496.0 * scale) / 1e6));
        REQUIRE(same_as_to_chars(-std::round(static_cast<double>(state % 100000007)) / 1e6));
        double bits;
        std::memcpy(&bits, &state, sizeof bits);
        REQUIRE(same_as_to_chars(bits));  // arbitrary doubles: declined or right
    }
    CHECK(coe::internal::write_micro_decimal(0.0, out) == nullptr);
    CHECK(coe::internal::write_micro_decimal(-0.0, out) == nullptr);
    CHECK(coe::internal::write_micro_decimal(1e9, out) == nullptr);
    CHECK(coe::internal::write_micro_decimal(std::nan(""), out) == nullptr);
    CHECK(coe::internal::write_micro_decimal(1.0 / 3, out) == nullptr);
}

TEST_CASE("write_shortest_ryu writes what std::to_chars writes") {
    std::vector<double> values = {
        0.0,     -0.0,    1.0,   -1.0, 0.5,     0.1,    0.0847, 1e-07, 1e-05, 123456.0,
        1e15,    1e16,    1e21,  1e22, 1.5e300, 5e-324, 2.5e-8, 1e100, 0.001, 12345678901234567890.0,
        1.0 / 3, 2.0 / 3, 100.0, 1e-4, 336491.0};
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; ++i) {  // random bit patterns and report-like values
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double x;
        std::memcpy(&x, &state, sizeof x);
        if (std::isfinite(x)) values.push_back(x);
        values.push_back(static_cast<double>(state % 2000001) / 1e6 - 1.0);
        values.push_back(std::round(static_cast<double>(state % 100000000) / 100.0) / 1e4);
    }
    for (double x : values) {
        char expected[64], got[64];
        const std::string e(expected, std::to_chars(expected, expected + sizeof expected, x).ptr);
        const std::string g(got, coe::internal::write_shortest_ryu(x, got));
        REQUIRE_MESSAGE(g == e, "value " << e);
    }
}
