// The direct panel reader (analysis/panel_reader.hpp) against the document
// reader it stands in for: whatever it takes, it must read exactly as the
// document reader does; whatever it declines goes to the document reader,
// so parse_panel's panels and messages stay those of the document reader.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <variant>

#include "analysis/panel_reader.hpp"
#include "coe/error.hpp"
#include "coe/panel_json.hpp"
#include "panel_equality.hpp"
#include "test_support.hpp"

using namespace coe;
using coe::test::same_panel;

namespace {

// What the document reader makes of `json`: its panel or its message.
std::variant<Panel, std::string> by_document(const std::string &json) {
    try {
        return detail::parse_panel_with_document(json, "p.json");
    } catch (const Error &e) {
        return std::string(e.what());
    }
}

std::variant<Panel, std::string> by_parse_panel(const std::string &json) {
    try {
        return parse_panel(json, "p.json");
    } catch (const Error &e) {
        return std::string(e.what());
    }
}

// The property every input must have; returns whether the direct reader took it.
bool agrees(const std::string &json) {
    CAPTURE(json);
    const std::variant<Panel, std::string> document = by_document(json);
    const std::variant<Panel, std::string> public_result = by_parse_panel(json);
    Panel direct;
    const bool taken = detail::read_panel_directly(json, direct);
    if (taken) {
        // taken: the document reader reads it too (validation aside), the same way
        const Panel *expected = std::get_if<Panel>(&document);
        if (expected != nullptr) CHECK(same_panel(direct, *expected));
        else
            CHECK_MESSAGE(std::get<std::string>(document).find("invalid JSON") == std::string::npos,
                          std::get<std::string>(document));
    }
    // what callers see is the document reader's, panel or message
    REQUIRE(document.index() == public_result.index());
    if (document.index() == 0) CHECK(same_panel(std::get<Panel>(document), std::get<Panel>(public_result)));
    else CHECK(std::get<std::string>(document) == std::get<std::string>(public_result));
    return taken;
}

std::string panel_with(const std::string &response_fields, const std::string &top = "") {
    return "{" + top + R"("responses": [{"expert": "a", "content": "x")" + response_fields +
           R"(}, {"expert": "b", "content": "y"}]})";
}

}  // namespace

TEST_CASE("the direct reader takes every MT-Bench line and reads it as the document reader does") {
    const std::vector<std::string> lines =
        test::lines_of(test::read_text(test::shared_data_dir() / "mtbench-panels.jsonl"));
    for (const std::string &line : lines) CHECK(agrees(line));
    CHECK(lines.size() == 80);
}

TEST_CASE("the direct reader takes the shipped example, pretty-printed") {
    CHECK(agrees(test::read_text(COE_TEST_SOURCE_DIR "/examples/panel.json")));
}

TEST_CASE("the direct reader takes what it can read exactly") {
    const std::string taken[] = {
        // escapes, surrogate pairs, raw UTF-8, a byte order mark, whitespace
        R"({"id": "e\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t", "responses": [{"expert": "a", "content": "caf\u00e9 \u4e2d"}]})",
        "\xEF\xBB\xBF {\"responses\":[{\"expert\":\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\",\"content\":\"x\"}]} \r\n",
        // integer ids, nulls for optional fields, unknown fields of every kind
        R"({"id": 42, "question": null, "responses": [{"expert": "a", "content": "x", "confidence": null,
            "recommendations": null, "limitations": null, "embedding": null}]})",
        R"({"id": -7, "extra": {"a": [1, -2.5e3, true, false, null, {"b": "\u0041"}]}, "responses": [
            {"expert": "a", "content": "x", "meta": [[[]]], "score": 0.25}]})",
        // numbers: integers, fractions, exponents, negative zero as a fraction
        panel_with(R"(, "confidence": 1)"),
        panel_with(R"(, "confidence": 0.0847)"),
        panel_with(R"(, "confidence": 0)"),
        panel_with(R"(, "confidence": -0.0)"),
        panel_with(R"(, "confidence": 5e-1)"),
        panel_with(R"(, "confidence": 0.1234567890123)"),
        R"({"responses": [{"expert": "a", "content": "x", "embedding": [0.1, -2, 3.5E+2, 1e-7, 123456789.125]}]})",
        // lists, empty and not
        panel_with(R"(, "recommendations": [], "limitations": ["one", "t\u0077o"])"),
        // numbers no field reads: only their syntax is checked, so any value is taken
        panel_with(R"(, "meta": [1e300, -0, 12345678901234567890, 0.12345678901234567890123, 1.5e-400, -1E+9999])",
                   R"("extra": 9007199254740993e-16, )"),
    };
    for (const std::string &json : taken) CHECK(agrees(json));
}

TEST_CASE("the direct reader declines what only the document reader reads or words") {
    const std::string declined[] = {
        // not a panel, or not valid JSON
        "",
        "[]",
        "42",
        R"({"id": "p"})",
        R"({"responses": [}])",
        R"({"responses": []} x)",
        R"({"responses": [{"expert": "a", "content": "x"},]})",
        R"(/* c */ {"responses": []})",
        panel_with(R"(, "confidence": "high")"),
        panel_with(R"(, "confidence": .5)"),
        panel_with(R"(, "confidence": 01)"),
        panel_with(R"(, "confidence": 1.)"),
        panel_with(R"(, "confidence": 1e)"),
        panel_with(R"(, "confidence": -)"),
        panel_with(R"(, "recommendations": "one")"),
        panel_with(R"(, "recommendations": [1])"),
        panel_with(R"(, "embedding": [])"),
        panel_with(R"(, "embedding": [1e39])"),
        panel_with(R"(, "expert": "again")"),  // a known field twice
        panel_with("", R"("id": "a", "id": "b", )"),
        panel_with("", R"("id": 1.5, )"),
        panel_with("", R"("id": -0, )"),
        panel_with("", R"("id": 12345678901234567890, )"),
        // numbers Boost.JSON converts its own way
        panel_with(R"(, "confidence": 0.12345678901234567890123)"),
        panel_with(R"(, "confidence": 1e-30)"),
        panel_with(R"(, "confidence": 9007199254740993e-16)"),
        // strings: lone surrogates, control characters, invalid UTF-8, bad escapes
        panel_with(R"(, "note": "\ud800")"),
        panel_with(R"(, "note": "\udc00\ud800")"),
        panel_with("", "\"note\": \"a\tb\", "),
        panel_with("", "\"note\": \"\xC0\xAF\", "),
        panel_with("", "\"note\": \"\xED\xA0\x80\", "),
        panel_with("", "\"note\": \"\xF4\x90\x80\x80\", "),
        panel_with("", "\"note\": \"\xE2\x82\", "),
        panel_with(R"(, "note": "\x41")"),
        panel_with(R"(, "note": "\u12G4")"),
        // nesting deeper than the reader follows
        panel_with(", \"deep\": " + std::string(40, '[') + std::string(40, ']')),
        // missing required fields, wrong types
        R"({"responses": [{"content": "x"}]})",
        R"({"responses": [{"expert": "a"}]})",
        R"({"responses": [{"expert": null, "content": "x"}]})",
        R"({"responses": null})",
        R"({"responses": ["text"]})",
    };
    for (const std::string &json : declined) {
        CAPTURE(json);
        CHECK_FALSE(agrees(json));
    }
}

// Random panels built from pieces that stress the reader (numbers of every
// shape, escapes, UTF-8, nulls, unknown fields), then random byte edits.
TEST_CASE("the direct reader and the document reader agree on random panels") {
    std::uint64_t state = 0x853c49e6748fea9bull;
    const auto next = [&] {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state;
    };
    const auto pick = [&](std::initializer_list<const char *> options) {
        return std::string(options.begin()[next() % options.size()]);
    };
    const auto number = [&] {
        std::string n = next() % 5 == 0 ? "-" : "";
        n += std::to_string(next() % 1000000 / (1 + next() % 1000));
        if (next() % 2) n += "." + std::to_string(next() % 100000000);
        if (next() % 4 == 0) n += pick({"e", "E", "e+", "e-"}) + std::to_string(next() % 30);
        return n;
    };
    const auto text = [&] {
        std::string s = "\"";
        for (int k = static_cast<int>(next() % 12); k > 0; --k)
            s += pick({"plain words ", "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "\xC3\xA9", "\xE4\xB8\xAD",
                       "\\t", "\\/", "0123456789abcdef", "- item\\n"});
        return s + "\"";
    };
    int taken = 0;
    constexpr int panels = 3000;
    for (int i = 0; i < panels; ++i) {
        std::string json = "{";
        if (next() % 2) json += "\"id\": " + (next() % 2 ? text() : std::to_string(next() % 100000)) + ", ";
        if (next() % 2) json += "\"question\": " + (next() % 5 ? text() : std::string("null")) + ", ";
        if (next() % 3 == 0) json += "\"extra\": {\"k\": [" + number() + ", " + text() + ", null, true]}, ";
        json += "\"responses\": [";
        const int experts = 1 + static_cast<int>(next() % 4);
        const bool embedded = next() % 3 == 0;
        for (int e = 0; e < experts; ++e) {
            if (e) json += ", ";
            json += "{\"expert\": \"e" + std::to_string(e) + "\", \"content\": " + text();
            if (next() % 2)
                json += ", \"confidence\": " + (next() % 2 ? "0." + std::to_string(next() % 1000000) : number());
            if (next() % 3 == 0) json += ", \"recommendations\": [" + text() + ", " + text() + "]";
            if (embedded) json += ", \"embedding\": [" + number() + ", " + number() + "]";
            json += "}";
        }
        json += "]}";
        taken += agrees(json);
        // the same text with one byte changed, dropped or doubled
        std::string edited = json;
        const std::size_t at = next() % edited.size();
        switch (next() % 3) {
        case 0: edited[at] = static_cast<char>(next() % 256); break;
        case 1: edited.erase(at, 1); break;
        default: edited.insert(at, 1, edited[at]);
        }
        agrees(edited);
    }
    CHECK(taken > panels / 2);  // the fast way is the common way
}
