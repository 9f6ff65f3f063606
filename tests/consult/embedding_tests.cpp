// Embedders against the fake provider: answers are embedded in one batched
// request, the analysis compares meanings (dense path) and equals coe
// analyze of the saved panel; a failing embedder falls back to TF-IDF,
// marked degraded; vectors are cached by (model, text).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "coe/embedder.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "consult_support.hpp"

using namespace coe;
using namespace coe::test;

namespace {

const std::string question = "How should we make our slow API faster?";

// Request counts below assume nothing was cached before: a cache folder of this run's own.
const bool fresh_cache = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("coe-embedding-tests-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::setenv("COE_CACHE_DIR", dir.c_str(), 1);
    return true;
}();

EmbedderConfig fake_embedder(const FakeProviderServer &server, const std::string &model,
                             ProviderKind provider = ProviderKind::openai) {
    EmbedderConfig e;
    e.name = "emb";
    e.provider = provider;
    e.base_url = server.base_url() + (provider == ProviderKind::openai ? "/v1" : "");
    e.model = model;
    e.timeout_ms = 5000;
    return e;
}

ExpertsConfig circle_with(FakeProviderServer &server, EmbedderConfig embedder) {
    ExpertsConfig c = experts_of({fake_expert(server, "a", ProviderKind::openai, "reply=cache_a"),
                                  fake_expert(server, "b", ProviderKind::anthropic, "reply=cache_b"),
                                  fake_expert(server, "c", ProviderKind::ollama, "reply=rewrite")});
    c.embedder = std::move(embedder);
    return c;
}

}  // namespace

TEST_CASE("with an embedder the answers are compared by meaning, and the report equals coe analyze of the panel") {
    FakeProviderServer server;
    for (ProviderKind p : {ProviderKind::openai, ProviderKind::ollama}) {
        CAPTURE(to_string(p));
        const std::string model = std::string("dims=48,") + (p == ProviderKind::openai ? "split=7" : "delay=0");
        Circle circle(test_engine(), circle_with(server, fake_embedder(server, model, p)));
        const ConsultationResult r = circle.consult(question);
        REQUIRE(r.report);
        CHECK(r.embedder == "emb");
        CHECK(r.embedding_error.empty());
        CHECK(r.report->features == "embedding");
        CHECK_FALSE(r.report->degraded);
        for (const auto &a : r.answers) CHECK(a.embedding.size() == 48);
        CHECK(r.question_embedding.size() == 48);
        CHECK(server.request_count(model) == 1);  // one batched request: the three answers and the question
        // the saved panel carries the embeddings: coe analyze of it gives the same report
        const Panel saved = parse_panel(panel_json(r), "saved.json");
        CHECK(without_timing(to_json(test_engine().analyze(saved.view()))) == without_timing(to_json(*r.report)));
        CHECK(to_json(r).find("\"embedding\":{\"embedder\":\"emb\",\"status\":\"ok\"}") != std::string::npos);
    }
}

TEST_CASE("the same texts are not embedded twice") {
    FakeProviderServer server;
    Circle circle(test_engine(), circle_with(server, fake_embedder(server, "dims=32")));
    circle.consult(question);
    circle.consult(question);
    CHECK(server.request_count("dims=32") == 1);
}

TEST_CASE("an embedder that fails: TF-IDF instead, and the report says degraded and why") {
    FakeProviderServer server;
    Circle circle(test_engine(), circle_with(server, fake_embedder(server, "status=500")));
    const ConsultationResult r = circle.consult(question);
    REQUIRE(r.report);
    CHECK(r.report->features == "tfidf");
    CHECK(r.report->degraded);
    CHECK(r.embedding_error.find("HTTP 500") == 0);
    REQUIRE_FALSE(r.report->events.empty());
    CHECK(r.report->events.back().find("embedding: the embedder emb failed (HTTP 500") == 0);
    CHECK(r.answered == 3);  // the consultation itself did not fail
    CHECK(to_json(r).find("\"embedding\":{\"embedder\":\"emb\",\"status\":\"failed\"") != std::string::npos);
}

TEST_CASE("an embedder that stalls: its request ends at the consultation's deadline, TF-IDF instead") {
    FakeProviderServer server;
    EmbedderConfig stalled = fake_embedder(server, "stall_first=8000");
    stalled.timeout_ms = 20000;  // its own timeout would come much later
    Circle circle(test_engine(), circle_with(server, stalled));
    ConsultOptions o;
    o.deadline = std::chrono::milliseconds(900);
    const auto start = std::chrono::steady_clock::now();
    const ConsultationResult r = circle.consult(question, o);
    const auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    CHECK(took >= 850);
    CHECK(took < 2500);
    CHECK(r.answered == 3);
    REQUIRE(r.report);
    CHECK(r.report->features == "tfidf");
    CHECK(r.report->degraded);
    CHECK(r.embedding_error.find("timeout: ") == 0);
    CHECK(r.embedding_error.find("deadline") != std::string::npos);
}

TEST_CASE("an embedder's key comes from its variable, and never shows") {
    FakeProviderServer::Options o;
    o.api_key = "sk-embed-secret-0123456789";
    FakeProviderServer server(o);
    EmbedderConfig e = fake_embedder(server, "auth,dims=16");
    e.api_key_env = "COE_TEST_EMBED_KEY";
    ::unsetenv("COE_TEST_EMBED_KEY");
    {
        Embedder embedder(e);
        CHECK_THROWS_WITH_AS(
            embedder.embed({"x"}),
            "embedder emb: environment variable COE_TEST_EMBED_KEY (the embedder's api_key_env) is not set", Error);
    }
    ::setenv("COE_TEST_EMBED_KEY", o.api_key.c_str(), 1);
    Embedder embedder(e);
    const auto v = embedder.embed({"alpha beta", "gamma"});
    CHECK(v.size() == 2);
    CHECK(v[0].size() == 16);
    ::setenv("COE_TEST_EMBED_KEY", "sk-wrong-key-0123456789", 1);
    e.model = "auth,dims=17";  // not cached
    Embedder wrong(e);
    try {
        wrong.embed({"delta"});
        FAIL("a wrong key was accepted");
    } catch (const Error &err) {
        CHECK(std::string(err.what()).find("HTTP 401") != std::string::npos);
        CHECK(std::string(err.what()).find("sk-wrong-key") == std::string::npos);
    }
    ::unsetenv("COE_TEST_EMBED_KEY");
}

TEST_CASE("Embedder::embed_panel fills only what is missing") {
    FakeProviderServer server;
    Embedder embedder(fake_embedder(server, "dims=8"));
    Panel p;  // built in code: the file format asks for all embeddings or none
    p.responses = {{"a", "use a cache", std::nullopt, std::nullopt, std::nullopt, {}},
                   {"b", "add caching", std::nullopt, std::nullopt, std::nullopt, {1, 0, 0, 0, 0, 0, 0, 0}}};
    embedder.embed_panel(p);
    CHECK(p.responses[0].embedding.size() == 8);
    CHECK(p.responses[1].embedding[0] == 1.0f);
    CHECK(server.request_count("dims=8") == 1);
}

TEST_CASE("the embedder in the experts file: fields checked and named") {
    auto error_of = [](const std::string &json) {
        try {
            parse_experts(json, "experts.json");
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string expert =
        R"({"name": "a", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m"})";
    const ExpertsConfig c =
        parse_experts(R"({"experts": [)" + expert + R"(], "embedder": {"name": "e", "provider": "ollama",
        "base_url": "http://127.0.0.1:11434/", "model": "nomic-embed-text", "batch_size": 16}})",
                      "experts.json");
    REQUIRE(c.embedder);
    CHECK(c.embedder->base_url == "http://127.0.0.1:11434");
    CHECK(c.embedder->batch_size == 16);
    CHECK(error_of(R"({"experts": [)" + expert +
                   R"(], "embedder": {"name": "e", "provider": "anthropic", "base_url": "http://x", "model": "m"}})") ==
          "experts.json: embedder.provider: embeddings are spoken by openai and ollama only");
    CHECK(error_of(R"({"experts": [)" + expert +
                   R"(], "embedder": {"name": "e", "api_key": "k", "base_url": "http://x", "model": "m"}})")
              .find("embedder.api_key: keys are never read from files") != std::string::npos);
    CHECK(error_of(R"({"experts": [)" + expert + R"(], "embedder": {"name": "e", "base_url": "http://x"}})") ==
          "experts.json: embedder.model: missing");
}
