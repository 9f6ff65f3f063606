// The wire formats without a network: the SSE and NDJSON parsers, each
// provider's request, and each provider's decoding of realistic bodies fed
// whole and split at every byte.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "http/ndjson_parser.hpp"
#include "http/sse_parser.hpp"
#include "providers/provider.hpp"

using namespace coe;
using namespace coe::net;

namespace {

std::vector<SseParser::Event> sse(const std::vector<std::string> &chunks) {
    SseParser p;
    std::vector<SseParser::Event> out;
    for (const auto &c : chunks) p.feed(c, [&](const SseParser::Event &e) { out.push_back(e); });
    return out;
}

struct Decoded {
    std::string content, finish_reason, error_kind;
    std::optional<std::uint64_t> in, out;
    bool complete = false;
};

// Feeds `body` in pieces of `step` bytes (0: whole).
Decoded decode(ProviderKind kind, bool stream, const std::string &content_type, const std::string &body, std::size_t step = 0) {
    auto d = provider_for(kind).make_decoder(stream);
    DecodedAnswer a;
    Decoded r;
    try {
        d->start(content_type);
        if (step == 0) {
            d->feed(body, a);
        } else {
            for (std::size_t i = 0; i < body.size(); i += step) d->feed(std::string_view(body).substr(i, step), a);
        }
        d->finish(a);
    } catch (const ProviderError &e) {
        r.error_kind = e.kind() + ": " + e.what();
    }
    r.content = a.content;
    r.finish_reason = a.finish_reason;
    r.in = a.tokens_in;
    r.out = a.tokens_out;
    r.complete = a.complete;
    return r;
}

void same_at_every_split(ProviderKind kind, bool stream, const std::string &ct, const std::string &body) {
    const Decoded whole = decode(kind, stream, ct, body);
    for (std::size_t step : {1u, 2u, 3u, 7u}) {
        const Decoded split = decode(kind, stream, ct, body, step);
        CHECK(split.content == whole.content);
        CHECK(split.finish_reason == whole.finish_reason);
        CHECK(split.in == whole.in);
        CHECK(split.out == whole.out);
        CHECK(split.complete == whole.complete);
        CHECK(split.error_kind == whole.error_kind);
    }
}

ExpertConfig expert(ProviderKind kind, const std::string &base) {
    ExpertConfig e;
    e.name = "x";
    e.provider = kind;
    e.base_url = base;
    e.model = "m-1";
    e.max_tokens = 77;
    e.temperature = 0.5;
    return e;
}

std::string header(const HttpRequest &r, const std::string &name) {
    for (const auto &[k, v] : r.headers)
        if (k == name) return v;
    return "<none>";
}

}  // namespace

TEST_CASE("SSE: line endings, comments, multi-line data, fields, split anywhere") {
    auto e = sse({"data: one\n\n", ": a comment\n", "event: named\ndata: two\n\n"});
    REQUIRE(e.size() == 2);
    CHECK(e[0].data == "one");
    CHECK(e[0].event.empty());
    CHECK(e[1].event == "named");
    CHECK(e[1].data == "two");

    e = sse({"data: a\r\ndata: b\r\n\r\n", "data:c\r\rdata:  d\n\n"});
    REQUIRE(e.size() == 3);
    CHECK(e[0].data == "a\nb");
    CHECK(e[1].data == "c");     // no space after the colon
    CHECK(e[2].data == " d");    // only one space is dropped

    e = sse({"data: x\r", "\n", "\r", "\ndata: y\n\n"});  // \r\n split across chunks is one line end
    REQUIRE(e.size() == 2);
    CHECK(e[0].data == "x");
    CHECK(e[1].data == "y");

    e = sse({"id: 7\nretry: 100\nevent: ping\n\n", "data\n\n", "unknown: z\ndata: w\n\n"});
    REQUIRE(e.size() == 2);     // an event without data is not dispatched
    CHECK(e[0].data.empty());   // "data" alone is an empty data line
    CHECK(e[0].id == "7");
    CHECK(e[1].data == "w");

    SseParser p;
    p.feed("data: partial\n", [](const SseParser::Event &) { FAIL("dispatched early"); });
    CHECK(p.has_partial_event());
}

TEST_CASE("NDJSON: lines at \\n, \\r stripped, blanks skipped, a last line without newline") {
    NdjsonParser p;
    std::vector<std::string> lines;
    auto on = [&](std::string_view l) { lines.emplace_back(l); };
    p.feed("{\"a\":1}\r\n\n  \n{\"b\"", on);
    p.feed(":2}\n{\"c\":3}", on);
    CHECK(lines.size() == 2);
    p.finish(on);
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
    NdjsonParser small(8);
    CHECK_THROWS_AS(small.feed("0123456789", on), ProviderError);
}

TEST_CASE("requests: URL, headers, body of each provider; keys only in headers") {
    const ChatPrompt prompt{"Be brief.", "Why?"};
    SUBCASE("openai") {
        const HttpRequest r = provider_for(ProviderKind::openai).chat_request(expert(ProviderKind::openai, "http://h/v1"), prompt, true, "sk-1");
        CHECK(r.url == "http://h/v1/chat/completions");
        CHECK(header(r, "Authorization") == "Bearer sk-1");
        const auto b = boost::json::parse(r.body);
        CHECK(b.at("model") == "m-1");
        CHECK(b.at("stream") == true);
        CHECK(b.at("stream_options").at("include_usage") == true);
        CHECK(b.at("max_tokens") == 77);
        CHECK(b.at("temperature").as_double() == 0.5);
        CHECK(b.at("messages").as_array().size() == 2);
        CHECK(b.at("messages").at(0).at("role") == "system");
        const HttpRequest whole = provider_for(ProviderKind::openai).chat_request(expert(ProviderKind::openai, "http://h/v1"), {"", "Why?"}, false, "");
        CHECK(header(whole, "Authorization") == "<none>");
        CHECK(!boost::json::parse(whole.body).as_object().contains("stream_options"));
        CHECK(boost::json::parse(whole.body).at("messages").as_array().size() == 1);
    }
    SUBCASE("ollama") {
        const HttpRequest r = provider_for(ProviderKind::ollama).chat_request(expert(ProviderKind::ollama, "http://h:11434"), prompt, false, "");
        CHECK(r.url == "http://h:11434/api/chat");
        const auto b = boost::json::parse(r.body);
        CHECK(b.at("stream") == false);
        CHECK(b.at("options").at("num_predict") == 77);
    }
    SUBCASE("anthropic") {
        ExpertConfig e = expert(ProviderKind::anthropic, "https://a");
        HttpRequest r = provider_for(ProviderKind::anthropic).chat_request(e, prompt, true, "sk-ant");
        CHECK(r.url == "https://a/v1/messages");
        CHECK(header(r, "x-api-key") == "sk-ant");
        CHECK(header(r, "anthropic-version") == "2023-06-01");
        CHECK(header(r, "Authorization") == "<none>");
        const auto b = boost::json::parse(r.body);
        CHECK(b.at("system") == "Be brief.");
        CHECK(b.at("messages").as_array().size() == 1);
        e.anthropic_auth = AnthropicAuth::bearer;
        r = provider_for(ProviderKind::anthropic).chat_request(e, prompt, true, "sk-ant");
        CHECK(header(r, "Authorization") == "Bearer sk-ant");
        CHECK(header(r, "x-api-key") == "<none>");
    }
    SUBCASE("gemini") {
        ExpertConfig e = expert(ProviderKind::gemini, "https://g");
        e.model = "gemini 2.5/x";
        const HttpRequest r = provider_for(ProviderKind::gemini).chat_request(e, prompt, true, "AIza-key");
        CHECK(r.url == "https://g/v1beta/models/gemini%202.5%2Fx:streamGenerateContent?alt=sse");
        CHECK(r.url.find("AIza") == std::string::npos);
        CHECK(header(r, "x-goog-api-key") == "AIza-key");
        const auto b = boost::json::parse(r.body);
        CHECK(b.at("systemInstruction").at("parts").at(0).at("text") == "Be brief.");
        CHECK(b.at("generationConfig").at("maxOutputTokens") == 77);
    }
}

TEST_CASE("openai: a stream with usage and [DONE], split anywhere; its failures") {
    const std::string body =
        ": keep-alive\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\\u00e9\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
        "data: [DONE]\n\n";
    const Decoded d = decode(ProviderKind::openai, true, "text/event-stream; charset=utf-8", body);
    CHECK(d.error_kind.empty());
    CHECK(d.content == "Hel\xc3\xa9lo");
    CHECK(d.finish_reason == "stop");
    CHECK(d.in == 9u);
    CHECK(d.out == 2u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::openai, true, "text/event-stream", body);

    CHECK(decode(ProviderKind::openai, true, "text/event-stream", body.substr(0, body.rfind("data: [DONE]"))).error_kind ==
          "protocol_error: the stream ended without [DONE]");
    CHECK(decode(ProviderKind::openai, true, "text/html", body).error_kind.find("expected text/event-stream") != std::string::npos);
    CHECK(decode(ProviderKind::openai, true, "text/event-stream",
                 "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n").error_kind ==
          "provider_error: server_error: boom");
    CHECK(decode(ProviderKind::openai, true, "text/event-stream", "data: {\"choices\": [\n\n").error_kind.find(
              "protocol_error: invalid JSON in a stream event") == 0);
    const Decoded whole = decode(ProviderKind::openai, false, "application/json",
                                 R"({"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})");
    CHECK(whole.content == "Hi");
    CHECK(whole.finish_reason == "length");
    CHECK(whole.out == 1u);
    CHECK(decode(ProviderKind::openai, false, "application/json", "{\"choices\":[").error_kind.find("invalid JSON") != std::string::npos);
}

TEST_CASE("ollama: NDJSON to done:true, split anywhere; errors and truncation") {
    const std::string body =
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"A \"},\"done\":false}\n"
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"b\"},\"done\":false}\n"
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
        "\"prompt_eval_count\":5,\"eval_count\":2}\n";
    const Decoded d = decode(ProviderKind::ollama, true, "application/x-ndjson", body);
    CHECK(d.content == "A b");
    CHECK(d.in == 5u);
    CHECK(d.out == 2u);
    CHECK(d.finish_reason == "stop");
    same_at_every_split(ProviderKind::ollama, true, "application/x-ndjson", body);
    CHECK(decode(ProviderKind::ollama, true, "application/x-ndjson", body.substr(0, 80)).error_kind.find("protocol_error") == 0);
    CHECK(decode(ProviderKind::ollama, true, "application/x-ndjson", "{\"error\":\"model not found\"}\n").error_kind ==
          "provider_error: model not found");
}

TEST_CASE("anthropic: named events to message_stop, split anywhere; error events and unknown events") {
    const std::string body =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: ping\ndata: {\"type\":\"ping\"}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n"
        "event: some_future_event\ndata: {\"type\":\"some_future_event\"}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    const Decoded d = decode(ProviderKind::anthropic, true, "text/event-stream", body);
    CHECK(d.error_kind.empty());
    CHECK(d.content == "Hi there");
    CHECK(d.in == 12u);
    CHECK(d.out == 3u);
    CHECK(d.finish_reason == "end_turn");
    same_at_every_split(ProviderKind::anthropic, true, "text/event-stream", body);
    const std::string overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    auto dec = provider_for(ProviderKind::anthropic).make_decoder(true);
    DecodedAnswer a;
    dec->start("text/event-stream");
    try {
        dec->feed(overloaded, a);
        FAIL("no error");
    } catch (const ProviderError &e) {
        CHECK(e.kind() == "provider_error");
        CHECK(e.retryable());
        CHECK(std::string(e.what()) == "overloaded_error: Overloaded");
    }
    CHECK(decode(ProviderKind::anthropic, true, "text/event-stream", body.substr(0, body.rfind("event: message_stop"))).error_kind ==
          "protocol_error: the stream ended without message_stop");
}

TEST_CASE("gemini: chunks that simply end, split anywhere; blocked prompts and errors") {
    const std::string body =
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Use \"}]},\"index\":0}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"a cache\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"totalTokenCount\":7}}\r\n\r\n";
    const Decoded d = decode(ProviderKind::gemini, true, "text/event-stream", body);
    CHECK(d.error_kind.empty());
    CHECK(d.content == "Use a cache");
    CHECK(d.finish_reason == "STOP");
    CHECK(d.in == 4u);
    CHECK(d.out == 3u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::gemini, true, "text/event-stream", body);
    CHECK(decode(ProviderKind::gemini, true, "text/event-stream", "").error_kind.find("without any chunk") != std::string::npos);
    CHECK(decode(ProviderKind::gemini, false, "application/json", R"({"promptFeedback":{"blockReason":"SAFETY"}})").error_kind ==
          "provider_error: blocked: SAFETY");
    CHECK(decode(ProviderKind::gemini, true, "text/event-stream",
                 "data: {\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}\n\n").error_kind ==
          "provider_error: INTERNAL: Internal error");
}

TEST_CASE("error messages of non-2xx bodies, in every provider's shape") {
    const Provider &p = provider_for(ProviderKind::openai);
    CHECK(p.error_message(R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})") ==
          "requests: Rate limit reached");
    CHECK(p.error_message(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})") ==
          "overloaded_error: Overloaded");
    CHECK(p.error_message(R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})") ==
          "RESOURCE_EXHAUSTED: Quota exceeded");
    CHECK(p.error_message(R"({"error":"model 'x' not found"})") == "model 'x' not found");
    CHECK(p.error_message("<html>\n<body>Bad gateway</body></html>") == "<html> <body>Bad gateway</body></html>");
    CHECK(p.error_message("") == "");
    CHECK(p.error_message(std::string(1000, 'x')).size() <= 203);
}
