// Tests of reading panels from JSON / JSON Lines, Panel::view() and validate().
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <variant>

#include "coe/error.hpp"
#include "coe/panel.hpp"
#include "coe/panel_json.hpp"

using namespace coe;

namespace {

// The message parse_panel throws for `json`, or "(no error)".
std::string error_of(const std::string &json) {
    try {
        parse_panel(json, "p.json");
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

// A panel whose responses array is `responses`.
std::string with_responses(const std::string &responses) {
    return R"({"id": "p1", "question": "q?", "responses": )" + responses + "}";
}

std::string validate_error(const PanelView &view) {
    try {
        validate(view);
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

Panel two_experts() {
    Panel p;
    p.id = "p";
    p.question = "q";
    p.responses.resize(2);
    p.responses[0].expert = "a";
    p.responses[0].content = "x";
    p.responses[1].expert = "b";
    p.responses[1].content = "y";
    return p;
}

}  // namespace

TEST_CASE("every line of the MT-Bench corpus parses") {
    const std::string text = read_file(COE_TEST_SHARED_DATA_DIR "/mtbench-panels.jsonl");
    const std::vector<PanelLine> lines = parse_panel_lines(text, "mtbench-panels.jsonl");
    REQUIRE(lines.size() == 80);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CAPTURE(i);
        CHECK(lines[i].line == i + 1);
        const std::string *error = std::get_if<std::string>(&lines[i].panel_or_error);
        REQUIRE_MESSAGE(error == nullptr, *error);
        const Panel &panel = std::get<Panel>(lines[i].panel_or_error);
        CHECK(panel.id == "mtbench-" + std::to_string(81 + i));
        CHECK(!panel.question.empty());
        CHECK(panel.responses.size() == 31);
        for (const Response &r : panel.responses) {
            CHECK(!r.expert.empty());
            CHECK(!r.confidence);
            CHECK(!r.recommendations);
            CHECK(r.embedding.empty());
        }
    }
}

TEST_CASE("a full panel is read field by field") {
    const Panel p = parse_panel(R"({
        "id": "mt-1", "question": "Why?", "category": "writing", "reference": null, "extra": {"x": [1, 2]},
        "responses": [
            {"expert": "gpt-4", "content": "# A\n- b", "confidence": 0.75, "recommendations": ["r1", "r2"],
             "limitations": [], "embedding": [1, -0.5, 2.25], "note": "ignored"},
            {"expert": "claude", "content": "", "confidence": 1, "recommendations": null,
             "limitations": ["l1"], "embedding": [0, 0, 1e-3]}
        ]})",
                                "p.json");
    CHECK(p.id == "mt-1");
    CHECK(p.question == "Why?");
    REQUIRE(p.responses.size() == 2);
    const Response &a = p.responses[0];
    CHECK(a.expert == "gpt-4");
    CHECK(a.content == "# A\n- b");
    CHECK(a.confidence == 0.75);
    CHECK(a.recommendations == std::vector<std::string>{"r1", "r2"});
    CHECK(a.limitations == std::vector<std::string>{});
    CHECK(a.embedding == std::vector<float>{1.0f, -0.5f, 2.25f});
    const Response &b = p.responses[1];
    CHECK(b.content.empty());
    CHECK(b.confidence == 1.0);
    CHECK(!b.recommendations);
    CHECK(b.limitations == std::vector<std::string>{"l1"});
    CHECK(b.embedding[2] == 1e-3f);
}

TEST_CASE("optional fields may be absent or null; a number id becomes its text") {
    Panel p = parse_panel(R"({"responses": [{"expert": "e", "content": "c"}]})", "p.json");
    CHECK(p.id.empty());
    CHECK(p.question.empty());
    CHECK(!p.responses[0].confidence);

    p = parse_panel(R"({"id": null, "question": null, "responses": [{"expert": "e", "content": "c",
        "confidence": null, "recommendations": null, "limitations": null, "embedding": null}]})",
                    "p.json");
    CHECK(p.id.empty());
    CHECK(!p.responses[0].confidence);
    CHECK(!p.responses[0].limitations);
    CHECK(p.responses[0].embedding.empty());

    CHECK(parse_panel(R"({"id": 81, "responses": [{"expert": "e", "content": "c"}]})", "p.json").id == "81");
    CHECK(parse_panel(R"({"id": -7, "responses": [{"expert": "e", "content": "c"}]})", "p.json").id == "-7");
    CHECK(parse_panel(R"({"id": 18446744073709551615, "responses": [{"expert": "e", "content": "c"}]})", "p.json").id ==
          "18446744073709551615");
    CHECK(parse_panel(with_responses(R"([{"expert": "e", "content": "c", "confidence": 0}])"), "p.json")
              .responses[0]
              .confidence == 0.0);
}

TEST_CASE("invalid JSON reports line and column") {
    CHECK(error_of(R"({"responses": [})") == "p.json:1:16: invalid JSON: syntax error");
    CHECK(error_of("{\n  \"responses\": [\n    {\"expert\": \"a\" \"content\": \"b\"}]}") ==
          "p.json:3:20: invalid JSON: syntax error");
    CHECK(error_of("") == "p.json:1:1: invalid JSON: incomplete JSON");
}

TEST_CASE("wrong JSON types are named with the field path") {
    CHECK(error_of(R"([{"expert": "e", "content": "c"}])") == "p.json: the top level must be a JSON object, got array");
    CHECK(error_of("42") == "p.json: the top level must be a JSON object, got number");
    CHECK(error_of(R"({"id": "p"})") == "p.json: responses: missing");
    CHECK(error_of(with_responses("[]")) == "p.json: responses: empty");
    CHECK(error_of(with_responses(R"({"expert": "e"})")) == "p.json: responses: must be an array, got object");
    CHECK(error_of(with_responses("null")) == "p.json: responses: must be an array, got null");
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": "c"}, "text"])")) ==
          "p.json: responses[1]: must be an object, got string");
    CHECK(error_of(with_responses(R"([{"content": "c"}])")) == "p.json: responses[0].expert: missing");
    CHECK(error_of(with_responses(R"([{"expert": null, "content": "c"}])")) ==
          "p.json: responses[0].expert: must be a string, got null");
    CHECK(error_of(with_responses(R"([{"expert": "", "content": "c"}])")) == "p.json: responses[0].expert: empty");
    CHECK(error_of(with_responses(R"([{"expert": "e"}])")) == "p.json: responses[0].content: missing");
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": 3}])")) ==
          "p.json: responses[0].content: must be a string, got number");
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": ["c"]}])")) ==
          "p.json: responses[0].content: must be a string, got array");
    CHECK(error_of(R"({"id": 1.5, "responses": [{"expert": "e", "content": "c"}]})") ==
          "p.json: id: must be a string or an integer, got number");
    CHECK(error_of(R"({"id": true, "responses": [{"expert": "e", "content": "c"}]})") ==
          "p.json: id: must be a string or an integer, got boolean");
    CHECK(error_of(R"({"question": 5, "responses": [{"expert": "e", "content": "c"}]})") ==
          "p.json: question: must be a string, got number");
}

TEST_CASE("confidence must be a number in [0, 1]") {
    const std::string head = R"([{"expert": "a", "content": "x"}, {"expert": "b", "content": "y"}, )";
    CHECK(error_of(with_responses(head + R"({"expert": "c", "content": "z", "confidence": -0.1}])")) ==
          "p.json: responses[2].confidence: -0.1 is outside [0, 1]");
    CHECK(error_of(with_responses(head + R"({"expert": "c", "content": "z", "confidence": 1.5}])")) ==
          "p.json: responses[2].confidence: 1.5 is outside [0, 1]");
    CHECK(error_of(with_responses(head + R"({"expert": "c", "content": "z", "confidence": 2}])")) ==
          "p.json: responses[2].confidence: 2 is outside [0, 1]");
    CHECK(error_of(with_responses(head + R"({"expert": "c", "content": "z", "confidence": "high"}])")) ==
          "p.json: responses[2].confidence: must be a number, got string");
    CHECK(error_of(with_responses(head + R"({"expert": "c", "content": "z", "confidence": 1e400}])")) ==
          "p.json: responses[2].confidence: must be a finite number, got inf");
}

TEST_CASE("lists must hold strings") {
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": "c", "recommendations": ["a", 7]}])")) ==
          "p.json: responses[0].recommendations[1]: must be a string, got number");
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": "c", "limitations": "none"}])")) ==
          "p.json: responses[0].limitations: must be an array of strings, got string");
    CHECK(error_of(with_responses(R"([{"expert": "e", "content": "c", "limitations": [null]}])")) ==
          "p.json: responses[0].limitations[0]: must be a string, got null");
}

TEST_CASE("expert names must be unique") {
    CHECK(error_of(with_responses(R"([{"expert": "claude", "content": "a"}, {"expert": "gpt-4", "content": "b"},
        {"expert": "Gpt-4", "content": "c"}, {"expert": "gpt-4", "content": "d"}])")) ==
          R"(p.json: responses[3].expert: "gpt-4" repeats responses[1])");
    CHECK(error_of(with_responses(R"([{"expert": "a\"b", "content": "a"}, {"expert": "a\"b", "content": "b"}])")) ==
          R"(p.json: responses[1].expert: "a\"b" repeats responses[0])");
}

TEST_CASE("embeddings: numbers, on every response or none, one length") {
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": [1, 2]},
        {"expert": "b", "content": "y", "embedding": [1, 2]}, {"expert": "c", "content": "z"},
        {"expert": "d", "content": "w"}])")) == "p.json: responses[2].embedding: missing, but responses[0] has one");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x"},
        {"expert": "b", "content": "y", "embedding": [1, 2]}])")) ==
          "p.json: responses[0].embedding: missing, but responses[1] has one");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": [1, 2, 3]},
        {"expert": "b", "content": "y", "embedding": [1, 2, 3]},
        {"expert": "c", "content": "z", "embedding": [1, 2]}])")) ==
          "p.json: responses[2].embedding: 2 values, but responses[0] has 3");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": [1, "2"]}])")) ==
          "p.json: responses[0].embedding[1]: must be a number, got string");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": []}])")) ==
          "p.json: responses[0].embedding: empty");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": {"0": 1}}])")) ==
          "p.json: responses[0].embedding: must be an array of numbers, got object");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": [0, 1e39]}])")) ==
          "p.json: responses[0].embedding[1]: 1e+39 does not fit in a float");
    CHECK(error_of(with_responses(R"([{"expert": "a", "content": "x", "embedding": [-1e400]}])")) ==
          "p.json: responses[0].embedding[0]: must be a finite number, got -inf");
}

TEST_CASE("JSON Lines: one entry per non-blank line, errors stay on their line") {
    const std::string text = R"({"id": "one", "responses": [{"expert": "e", "content": "c"}]})"
                             "\n"
                             R"({"id": "two", "responses": [})"
                             "\r\n"
                             "  \t\r\n"
                             R"({"id": "four", "responses": [{"expert": "e", "content": "c", "confidence": 1.5}]})"
                             "\n"
                             R"({"id": "five", "responses": [{"expert": "e", "content": "c"}]})"
                             "\r\n";
    const std::vector<PanelLine> lines = parse_panel_lines(text, "panels.jsonl");
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].line == 1);
    CHECK(lines[1].line == 2);
    CHECK(lines[2].line == 4);
    CHECK(lines[3].line == 5);
    REQUIRE(std::holds_alternative<Panel>(lines[0].panel_or_error));
    CHECK(std::get<Panel>(lines[0].panel_or_error).id == "one");
    REQUIRE(std::holds_alternative<std::string>(lines[1].panel_or_error));
    CHECK(std::get<std::string>(lines[1].panel_or_error) == "panels.jsonl:2:29: invalid JSON: syntax error");
    REQUIRE(std::holds_alternative<std::string>(lines[2].panel_or_error));
    CHECK(std::get<std::string>(lines[2].panel_or_error) ==
          "panels.jsonl:4: responses[0].confidence: 1.5 is outside [0, 1]");
    REQUIRE(std::holds_alternative<Panel>(lines[3].panel_or_error));
    CHECK(std::get<Panel>(lines[3].panel_or_error).id == "five");
}

TEST_CASE("JSON Lines: edges") {
    CHECK(parse_panel_lines("", "f").empty());
    CHECK(parse_panel_lines("\n\n  \n", "f").empty());
    // the last line needs no newline
    const std::vector<PanelLine> lines = parse_panel_lines(
        "\n"
        R"({"responses": [{"expert": "e", "content": "c"}]})",
        "f");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].line == 2);
    CHECK(std::holds_alternative<Panel>(lines[0].panel_or_error));
    // a JSON value may not continue on the next line
    const std::vector<PanelLine> split = parse_panel_lines("{\"responses\":\n[]", "f");
    REQUIRE(split.size() == 2);
    CHECK(std::get<std::string>(split[0].panel_or_error) == "f:1:14: invalid JSON: incomplete JSON");
    CHECK(std::get<std::string>(split[1].panel_or_error) == "f:2: the top level must be a JSON object, got array");
}

TEST_CASE("validate: every text must be well-formed UTF-8, named by its field") {
    PanelView p;
    p.question = "ok";
    ResponseView r;
    r.expert = "a";
    r.content = "fine";
    p.responses.push_back(r);
    CHECK_NOTHROW(validate(p));
    for (const char *bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"}) {
        PanelView q = p;
        q.responses[0].content = bad;
        CHECK_THROWS_WITH_AS(validate(q), doctest::Contains("responses[0].content: invalid UTF-8 at byte"), Error);
    }
    PanelView q = p;
    q.question = "\xe2\x82\xac ok \xf0\x9f\x98\x80";  // the euro sign and an emoji are fine
    CHECK_NOTHROW(validate(q));
    q.responses[0].expert = "\x80";
    CHECK_THROWS_WITH_AS(validate(q), doctest::Contains("responses[0].expert: invalid UTF-8 at byte 0"), Error);
}

TEST_CASE("validate: a panel built in code") {
    Panel p = two_experts();
    CHECK(validate_error(p.view()) == "(no error)");

    p.responses[0].confidence = 0.0;
    p.responses[1].confidence = 1.0;
    p.responses[0].embedding = {1.0f, 2.0f};
    p.responses[1].embedding = {3.0f, 4.0f};
    CHECK(validate_error(p.view()) == "(no error)");

    PanelView view = p.view();
    view.responses.clear();
    CHECK(validate_error(view) == "responses: empty");

    view = p.view();
    view.responses[1].expert = "";
    CHECK(validate_error(view) == "responses[1].expert: empty");

    view = p.view();
    view.responses[1].expert = "a";
    CHECK(validate_error(view) == R"(responses[1].expert: "a" repeats responses[0])");

    view = p.view();
    view.responses[1].confidence = -0.1;
    CHECK(validate_error(view) == "responses[1].confidence: -0.1 is outside [0, 1]");
    view.responses[1].confidence = 1.5;
    CHECK(validate_error(view) == "responses[1].confidence: 1.5 is outside [0, 1]");
    view.responses[1].confidence = std::numeric_limits<double>::quiet_NaN();
    CHECK(validate_error(view) == "responses[1].confidence: must be a finite number, got nan");

    view = p.view();
    view.responses[1].embedding = nullptr;
    view.responses[1].embedding_size = 0;
    CHECK(validate_error(view) == "responses[1].embedding: missing, but responses[0] has one");

    view = p.view();
    view.responses[1].embedding_size = 1;
    CHECK(validate_error(view) == "responses[1].embedding: 1 values, but responses[0] has 2");

    view = p.view();
    view.responses[0].embedding = nullptr;
    CHECK(validate_error(view) == "responses[0].embedding: null pointer with size 2");

    p.responses[1].embedding[1] = std::numeric_limits<float>::infinity();
    CHECK(validate_error(p.view()) == "responses[1].embedding[1]: must be a finite number, got inf");
}

TEST_CASE("view: every field is visible through the view") {
    Panel p = two_experts();
    p.responses[0].confidence = 0.5;
    p.responses[0].recommendations = std::vector<std::string>{"r1", "r2"};
    p.responses[0].limitations = std::vector<std::string>{};
    p.responses[0].embedding = {0.25f, 0.5f, 0.75f};
    p.responses[1].embedding = {1.0f, 2.0f, 3.0f};

    const PanelView v = p.view();
    CHECK(v.id == "p");
    CHECK(v.question == "q");
    CHECK(v.id.data() == p.id.data());
    REQUIRE(v.responses.size() == 2);
    const ResponseView &a = v.responses[0];
    CHECK(a.expert == "a");
    CHECK(a.content == "x");
    CHECK(a.content.data() == p.responses[0].content.data());
    CHECK(a.confidence == 0.5);
    REQUIRE(a.recommendations);
    CHECK(*a.recommendations == std::vector<std::string_view>{"r1", "r2"});
    CHECK((*a.recommendations)[0].data() == (*p.responses[0].recommendations)[0].data());
    REQUIRE(a.limitations);
    CHECK(a.limitations->empty());
    CHECK(a.embedding == p.responses[0].embedding.data());
    CHECK(a.embedding_size == 3);
    const ResponseView &b = v.responses[1];
    CHECK(!b.confidence);
    CHECK(!b.recommendations);
    CHECK(!b.limitations);
    CHECK(b.embedding_size == 3);

    p.responses[1].embedding.clear();
    const PanelView without = p.view();
    CHECK(without.responses[1].embedding == nullptr);
    CHECK(without.responses[1].embedding_size == 0);
}

TEST_CASE("parse then view then validate agree") {
    const Panel p = parse_panel(with_responses(R"([{"expert": "a", "content": "x", "embedding": [1, 2]},
        {"expert": "b", "content": "y", "embedding": [3, 4], "recommendations": ["go"]}])"),
                                "p.json");
    const PanelView v = p.view();
    CHECK(validate_error(v) == "(no error)");
    CHECK(v.id == "p1");
    CHECK(v.responses[1].embedding[1] == 4.0f);
    CHECK(v.responses[1].recommendations->at(0) == "go");
}
