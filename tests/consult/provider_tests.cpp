// The wire formats without a network: the SSE and NDJSON parsers, each
// provider's request, and each provider's decoding of realistic bodies
// (shaped as each API documents them) fed whole and split at every byte.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "http/ndjson_parser.hpp"
#include "http/sse_parser.hpp"
#include "providers/provider.hpp"

using namespace coe;
using namespace coe::net;

namespace {

namespace json = boost::json;

// ---- SSE helpers ----------------------------------------------------------
std::vector<SseParser::Event> sse(const std::vector<std::string> &chunks) {
    SseParser p;
    std::vector<SseParser::Event> out;
    for (const auto &c : chunks) p.feed(c, [&](const SseParser::Event &e) { out.push_back(e); });
    return out;
}

std::string show(const std::vector<SseParser::Event> &events) {
    std::string s;
    for (const auto &e : events) s += "[" + e.event + "|" + e.data + "|" + e.id + "]";
    return s;
}

// ---- decoding helpers -----------------------------------------------------
struct Decoded {
    std::string content, deltas, finish_reason, error;  // error: "<kind>: <message>"
    std::optional<std::uint64_t> in, out;
    bool complete = false, retryable = false;
};

// Feeds `body` in the given pieces (sizes; the rest in a last piece).
Decoded decode_pieces(ProviderKind kind, bool stream, const std::string &content_type, const std::string &body,
                      const std::vector<std::size_t> &cuts) {
    auto d = provider_for(kind).make_decoder(stream);
    DecodedAnswer a;
    Decoded r;
    a.on_delta = [&](std::string_view delta) { r.deltas.append(delta); };
    try {
        d->start(content_type);
        std::size_t at = 0;
        for (std::size_t cut : cuts) {
            d->feed(std::string_view(body).substr(at, cut - at), a);
            at = cut;
        }
        d->feed(std::string_view(body).substr(at), a);
        d->finish(a);
    } catch (const ProviderError &e) {
        r.error = e.kind() + ": " + e.what();
        r.retryable = e.retryable();
    }
    r.content = a.content;
    r.finish_reason = a.finish_reason;
    r.in = a.tokens_in;
    r.out = a.tokens_out;
    r.complete = a.complete;
    return r;
}

Decoded decode(ProviderKind kind, bool stream, const std::string &content_type, const std::string &body) {
    return decode_pieces(kind, stream, content_type, body, {});
}

void check_same(const Decoded &a, const Decoded &b) {
    CHECK(a.content == b.content);
    CHECK(a.deltas == b.deltas);
    CHECK(a.finish_reason == b.finish_reason);
    CHECK(a.in == b.in);
    CHECK(a.out == b.out);
    CHECK(a.complete == b.complete);
    CHECK(a.error == b.error);
}

// The same answer whole, in two pieces cut at every byte, and byte by byte.
void same_at_every_split(ProviderKind kind, bool stream, const std::string &ct, const std::string &body) {
    const Decoded whole = decode(kind, stream, ct, body);
    CHECK(whole.deltas == whole.content);
    for (std::size_t i = 0; i <= body.size(); ++i) {
        CAPTURE(i);
        check_same(decode_pieces(kind, stream, ct, body, {i}), whole);
    }
    std::vector<std::size_t> every(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) every[i] = i;
    check_same(decode_pieces(kind, stream, ct, body, every), whole);
}

bool starts_with(const std::string &s, const std::string &prefix) { return s.rfind(prefix, 0) == 0; }

// ---- request helpers ------------------------------------------------------
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

HttpRequest request(const ExpertConfig &e, const ChatPrompt &p, bool stream, const std::string &key) {
    return provider_for(e.provider).chat_request(e, p, stream, key);
}

std::string header(const HttpRequest &r, const std::string &name) {
    for (const auto &[k, v] : r.headers)
        if (k == name) return v;
    return "<none>";
}

bool key_anywhere_but_headers(const HttpRequest &r, const std::string &key) {
    return r.url.find(key) != std::string::npos || r.body.find(key) != std::string::npos;
}

const ChatPrompt prompt{"Be brief.", "Why?"};

}  // namespace

// ===========================================================================
TEST_CASE("SSE: line endings \\n, \\r\\n and \\r, also split between chunks") {
    CHECK(show(sse({"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n"})) == "[|a|][|b|][|c|][|d|]");
    // a \r at the end of a chunk and the \n at the start of the next are one line end
    CHECK(show(sse({"data: x\r", "\n", "\r", "\ndata: y\r", "\r", "\n"})) == "[|x|][|y|]");
    // a lone \r followed by a chunk that does not start with \n
    CHECK(show(sse({"data: x\r", "data: y\r", "\r"})) == "[|x\ny|]");
}

TEST_CASE("SSE: comments, fields, one leading space dropped, multi-line data") {
    CHECK(show(sse({": keep-alive\n:\ndata: one\n\n"})) == "[|one|]");
    CHECK(show(sse({"data:no-space\n\ndata:  two spaces\n\n"})) == "[|no-space|][| two spaces|]");
    CHECK(show(sse({"data: a\ndata:\ndata: b\n\n"})) == "[|a\n\nb|]");
    CHECK(show(sse({"data: {\"a\": \"x:y\"}\n\n"})) == "[|{\"a\": \"x:y\"}|]");
    // a field without a colon has an empty value
    CHECK(show(sse({"data\n\n"})) == "[||]");
    CHECK(show(sse({"event: e\nevent\ndata: v\n\n"})) == "[|v|]");
    // event names one event only; unknown fields are ignored
    CHECK(show(sse({"event: named\nfoo: bar\ndata: 1\n\ndata: 2\n\n"})) == "[named|1|][|2|]");
}

TEST_CASE("SSE: events without data are not dispatched; id persists; retry") {
    CHECK(show(sse({"event: ping\nid: 3\n\n", "data: after\n\n"})) == "[|after|3]");  // no leaked event name
    CHECK(show(sse({"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"})) == "[|a|7][|b|7][|c|]");
    CHECK(show(sse({"id: 1\ndata: a\n\nid: 2" + std::string(1, '\0') + "x\ndata: b\n\n"})) ==
          "[|a|1][|b|1]");  // NUL: ignored

    SseParser p;
    auto none = [](const SseParser::Event &) { FAIL("no event expected"); };
    CHECK(!p.retry_ms());
    p.feed("retry: 2500\n", none);
    CHECK(p.retry_ms() == 2500u);
    p.feed("retry: 3s\nretry:\n", none);  // not all digits: ignored
    CHECK(p.retry_ms() == 2500u);
}

TEST_CASE("SSE: partial events, split at every byte, bounded lines") {
    SseParser p;
    auto none = [](const SseParser::Event &) { FAIL("dispatched early"); };
    CHECK(!p.has_partial_event());
    p.feed(": comment without its newline", none);
    CHECK(!p.has_partial_event());
    p.feed("\ndat", none);
    CHECK(p.has_partial_event());
    p.feed("a: partial\n", none);
    CHECK(p.has_partial_event());
    std::vector<SseParser::Event> got;
    p.feed("\n", [&](const SseParser::Event &e) { got.push_back(e); });
    CHECK(show(got) == "[|partial|]");
    CHECK(!p.has_partial_event());

    const std::string text =
        "event: a\r\ndata: caf\xc3\xa9 \xe2\x82\xac\r\n: c\r\rid: 9\ndata: 2\r\n\r\nretry: 5\n\ndata: last\r\r";
    const std::string whole = show(sse({text}));
    CHECK(whole == "[a|caf\xc3\xa9 \xe2\x82\xac|][|2|9][|last|9]");
    for (std::size_t i = 0; i <= text.size(); ++i) {
        CAPTURE(i);
        CHECK(show(sse({text.substr(0, i), text.substr(i)})) == whole);
    }
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    CHECK(show(sse(bytes)) == whole);

    SseParser small(8);
    CHECK_NOTHROW(small.feed("data: 12\n", none));  // exactly the limit
    try {
        small.feed("data: 123", none);
        FAIL("no error");
    } catch (const ProviderError &e) {
        CHECK(e.kind() == "protocol_error");
        CHECK(std::string(e.what()).find("longer than 8 bytes") != std::string::npos);
    }
    SseParser split(8);
    split.feed("data", none);
    CHECK_THROWS_AS(split.feed(": 12345", none), ProviderError);  // the limit counts across chunks
}

TEST_CASE("NDJSON: lines at \\n, \\r stripped, blanks skipped, a last line without newline, bounded") {
    NdjsonParser p;
    std::vector<std::string> lines;
    auto on = [&](std::string_view l) { lines.emplace_back(l); };
    p.feed("{\"a\":1}\r\n\n  \n\r\n{\"b\"", on);
    p.feed(":2}\n{\"c\":3}", on);
    CHECK(lines.size() == 2);
    p.finish(on);
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
    p.finish(on);  // nothing left
    CHECK(lines.size() == 3);

    const std::string text = "{\"x\":\"\xc3\xa9\"}\r\n\n{\"y\":2}\n";
    for (std::size_t i = 0; i <= text.size(); ++i) {
        NdjsonParser q;
        std::vector<std::string> got;
        auto add = [&](std::string_view l) { got.emplace_back(l); };
        q.feed(text.substr(0, i), add);
        q.feed(text.substr(i), add);
        q.finish(add);
        CHECK(got == std::vector<std::string>{"{\"x\":\"\xc3\xa9\"}", "{\"y\":2}"});
    }

    NdjsonParser small(8);
    CHECK_NOTHROW(small.feed("01234567\n", on));
    CHECK_THROWS_AS(small.feed("0123456789", on), ProviderError);
}

// ===========================================================================
TEST_CASE("openai request: URL, headers, body; the key only in Authorization") {
    const ExpertConfig e = expert(ProviderKind::openai, "http://h/v1");
    const HttpRequest r = request(e, prompt, true, "sk-1");
    CHECK(r.method == "POST");
    CHECK(r.url == "http://h/v1/chat/completions");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "Accept") == "text/event-stream");
    CHECK(header(r, "Authorization") == "Bearer sk-1");
    CHECK(!key_anywhere_but_headers(r, "sk-1"));
    const auto b = json::parse(r.body);
    CHECK(b.at("model") == "m-1");
    CHECK(b.at("stream") == true);
    CHECK(b.at("stream_options").at("include_usage") == true);
    CHECK(b.at("max_tokens") == 77);
    CHECK(b.at("temperature").to_number<double>() == 0.5);
    const auto &messages = b.at("messages").as_array();
    REQUIRE(messages.size() == 2);
    CHECK(messages[0] == json::parse(R"({"role":"system","content":"Be brief."})"));
    CHECK(messages[1] == json::parse(R"({"role":"user","content":"Why?"})"));

    ExpertConfig plain = e;
    plain.temperature.reset();
    const HttpRequest whole = request(plain, {"", "Why?"}, false, "");
    CHECK(header(whole, "Authorization") == "<none>");
    const auto wb = json::parse(whole.body).as_object();
    CHECK(wb.at("stream") == false);
    CHECK(!wb.contains("stream_options"));
    CHECK(!wb.contains("temperature"));
    CHECK(wb.at("messages").as_array().size() == 1);
}

TEST_CASE("ollama request: /api/chat, options.num_predict; Authorization only with a key") {
    const ExpertConfig e = expert(ProviderKind::ollama, "http://h:11434");
    const HttpRequest r = request(e, prompt, false, "");
    CHECK(r.url == "http://h:11434/api/chat");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "Authorization") == "<none>");
    const auto b = json::parse(r.body);
    CHECK(b.at("model") == "m-1");
    CHECK(b.at("stream") == false);
    CHECK(b.at("options").at("num_predict") == 77);
    CHECK(b.at("options").at("temperature").to_number<double>() == 0.5);
    CHECK(b.at("messages").at(0).at("role") == "system");
    CHECK(b.at("messages").at(1).at("content") == "Why?");
    const HttpRequest keyed = request(e, prompt, true, "ol-key");
    CHECK(header(keyed, "Authorization") == "Bearer ol-key");
    CHECK(!key_anywhere_but_headers(keyed, "ol-key"));
    CHECK(json::parse(keyed.body).at("stream") == true);
}

TEST_CASE("anthropic request: /v1/messages, version, x-api-key or bearer, top-level system") {
    ExpertConfig e = expert(ProviderKind::anthropic, "https://a");
    e.anthropic_version = "2023-06-01";
    HttpRequest r = request(e, prompt, true, "sk-ant");
    CHECK(r.url == "https://a/v1/messages");
    CHECK(header(r, "content-type") == "application/json");
    CHECK(header(r, "anthropic-version") == "2023-06-01");
    CHECK(header(r, "accept") == "text/event-stream");
    CHECK(header(r, "x-api-key") == "sk-ant");
    CHECK(header(r, "Authorization") == "<none>");
    CHECK(!key_anywhere_but_headers(r, "sk-ant"));
    const auto b = json::parse(r.body);
    CHECK(b.at("model") == "m-1");
    CHECK(b.at("max_tokens") == 77);
    CHECK(b.at("system") == "Be brief.");
    CHECK(b.at("stream") == true);
    CHECK(b.at("temperature").to_number<double>() == 0.5);
    REQUIRE(b.at("messages").as_array().size() == 1);
    CHECK(b.at("messages").at(0) == json::parse(R"({"role":"user","content":"Why?"})"));

    e.anthropic_auth = AnthropicAuth::bearer;
    r = request(e, prompt, false, "sk-ant");
    CHECK(header(r, "Authorization") == "Bearer sk-ant");
    CHECK(header(r, "x-api-key") == "<none>");
    CHECK(header(r, "accept") == "<none>");

    r = request(e, {"", "Why?"}, false, "");
    CHECK(header(r, "Authorization") == "<none>");
    CHECK(header(r, "x-api-key") == "<none>");
    CHECK(!json::parse(r.body).as_object().contains("system"));
}

TEST_CASE("gemini request: model in the path, key in x-goog-api-key, systemInstruction, generationConfig") {
    ExpertConfig e = expert(ProviderKind::gemini, "https://g");
    HttpRequest r = request(e, prompt, true, "AIza-key");
    CHECK(r.url == "https://g/v1beta/models/m-1:streamGenerateContent?alt=sse");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "x-goog-api-key") == "AIza-key");
    CHECK(!key_anywhere_but_headers(r, "AIza"));
    const auto b = json::parse(r.body);
    CHECK(b.at("contents") == json::parse(R"([{"role":"user","parts":[{"text":"Why?"}]}])"));
    CHECK(b.at("systemInstruction") == json::parse(R"({"parts":[{"text":"Be brief."}]})"));
    CHECK(b.at("generationConfig").at("maxOutputTokens") == 77);
    CHECK(b.at("generationConfig").at("temperature").to_number<double>() == 0.5);

    r = request(e, {"", "Why?"}, false, "");
    CHECK(r.url == "https://g/v1beta/models/m-1:generateContent");
    CHECK(header(r, "x-goog-api-key") == "<none>");
    CHECK(!json::parse(r.body).as_object().contains("systemInstruction"));

    e.model = "models/gemini-2.0-flash";  // the API's resource name
    CHECK(request(e, prompt, false, "").url == "https://g/v1beta/models/gemini-2.0-flash:generateContent");
    e.model = "gemini 2.5/x?key=1";  // escaped: never a second path segment or a query
    CHECK(request(e, prompt, false, "").url == "https://g/v1beta/models/gemini%202.5%2Fx%3Fkey=1:generateContent");
}

// ===========================================================================
TEST_CASE("openai stream: deltas, finish_reason, usage chunk, [DONE]; split anywhere") {
    const std::string body =
        ": keep-alive\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
        "\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"Hel\\u00e9\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null},"
        "\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo "
        "\xe2\x82\xac\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
        "\"stop\"}],\"usage\":null}\n\n"
        "data: "
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
        "\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
        "data: [DONE]\n\n";
    const Decoded d = decode(ProviderKind::openai, true, "text/event-stream; charset=utf-8", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Hel\xc3\xa9lo \xe2\x82\xac");
    CHECK(d.finish_reason == "stop");
    CHECK(d.in == 9u);
    CHECK(d.out == 3u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::openai, true, "text/event-stream", body);

    SUBCASE("nothing after [DONE] counts, not even a cut-off or broken event") {
        const Decoded after =
            decode(ProviderKind::openai, true, "text/event-stream",
                   body + "data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\ndata: {oops\n\ndata: cut");
        CHECK(after.error.empty());
        CHECK(after.content == d.content);
        CHECK(after.complete);
    }
    SUBCASE("a stream without [DONE], or cut inside an event") {
        const std::string cut = body.substr(0, body.rfind("data: [DONE]"));
        const Decoded no_done = decode(ProviderKind::openai, true, "text/event-stream", cut);
        CHECK(no_done.error == "protocol_error: the stream ended without [DONE]");
        CHECK(no_done.content == d.content);  // what arrived is kept
        CHECK(!no_done.complete);
        CHECK(decode(ProviderKind::openai, true, "text/event-stream", cut + "data: [DO").error ==
              "protocol_error: the stream ended inside an event");
    }
    SUBCASE("an error object mid-stream") {
        const Decoded e = decode(ProviderKind::openai, true, "text/event-stream",
                                 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n"
                                 "data: {\"error\":{\"message\":\"The server had an "
                                 "error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
                                 "data: [DONE]\n\n");
        CHECK(e.error == "provider_error: server_error: The server had an error");
        CHECK(e.content == "par");
    }
    SUBCASE("malformed JSON, wrong content types") {
        CHECK(starts_with(decode(ProviderKind::openai, true, "text/event-stream", "data: {\"choices\": [\n\n").error,
                          "protocol_error: invalid JSON in a stream event"));
        const Decoded html = decode(ProviderKind::openai, true, "text/html; charset=utf-8", body);
        CHECK(html.error == "protocol_error: expected text/event-stream, got Content-Type text/html; charset=utf-8");
        CHECK(starts_with(decode(ProviderKind::openai, true, "application/json", body).error,
                          "protocol_error: expected text/event-stream"));
        CHECK(decode(ProviderKind::openai, true, "", body).error ==
              "protocol_error: expected text/event-stream, got Content-Type (none)");
        CHECK(decode(ProviderKind::openai, true, "Text/Event-Stream", body).error.empty());
    }
}

TEST_CASE("openai whole body: message, finish_reason, usage; errors and bad bodies") {
    const std::string body =
        R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,)"
        R"("message":{"role":"assistant","content":"Hi there","refusal":null},"logprobs":null,"finish_reason":"length"}],)"
        R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
    const Decoded d = decode(ProviderKind::openai, false, "application/json", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Hi there");
    CHECK(d.finish_reason == "length");
    CHECK(d.in == 3u);
    CHECK(d.out == 2u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::openai, false, "application/json", body);
    CHECK(decode(ProviderKind::openai, false, "", body).error.empty());  // a missing type is tolerated
    CHECK(starts_with(decode(ProviderKind::openai, false, "text/html", "<html></html>").error,
                      "protocol_error: expected application/json, got Content-Type text/html"));
    const Decoded bad = decode(ProviderKind::openai, false, "application/json", "{\"choices\":[");
    CHECK(starts_with(bad.error, "protocol_error: invalid JSON in the response"));
    CHECK(bad.error.find("{\"choices\":[") != std::string::npos);  // with an excerpt
    CHECK(decode(ProviderKind::openai, false, "application/json",
                 R"({"error":{"message":"bad","type":"invalid_request_error"}})")
              .error == "provider_error: invalid_request_error: bad");
    CHECK(decode(ProviderKind::openai, false, "application/json", R"({"choices":[]})").error ==
          "protocol_error: the response has no choices");
}

// ===========================================================================
TEST_CASE("ollama stream: NDJSON to done:true; split anywhere; errors and truncation") {
    const std::string body =
        "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\","
        "\"content\":\"A \"},\"done\":false}\n"
        "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\","
        "\"content\":\"b\xc3\xa9\"},\"done\":false}\n"
        "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:01Z\",\"message\":{\"role\":\"assistant\","
        "\"content\":\"\"},\"done\":true,"
        "\"done_reason\":\"stop\",\"total_duration\":1000,\"prompt_eval_count\":5,\"eval_count\":2}";  // no final newline
    const Decoded d = decode(ProviderKind::ollama, true, "application/x-ndjson", body);
    CHECK(d.error.empty());
    CHECK(d.content == "A b\xc3\xa9");
    CHECK(d.in == 5u);
    CHECK(d.out == 2u);
    CHECK(d.finish_reason == "stop");
    CHECK(d.complete);
    same_at_every_split(ProviderKind::ollama, true, "application/x-ndjson", body + "\n");
    same_at_every_split(ProviderKind::ollama, true, "application/x-ndjson", body);
    CHECK(decode(ProviderKind::ollama, true, "application/json; charset=utf-8", body).error.empty());  // some versions
    CHECK(starts_with(decode(ProviderKind::ollama, true, "text/plain", body).error,
                      "protocol_error: expected application/x-ndjson"));

    const std::string first_two = body.substr(0, body.rfind("{\"model\""));
    CHECK(decode(ProviderKind::ollama, true, "application/x-ndjson", first_two).error ==
          "protocol_error: the stream ended without \"done\": true");
    CHECK(starts_with(decode(ProviderKind::ollama, true, "application/x-ndjson", first_two + "{\"model\":\"ll").error,
                      "protocol_error: invalid JSON in a stream line"));
    const Decoded err = decode(ProviderKind::ollama, true, "application/x-ndjson",
                               first_two + "{\"error\":\"model runner crashed\"}\n");
    CHECK(err.error == "provider_error: model runner crashed");
    CHECK(err.content == "A b\xc3\xa9");
    const Decoded after = decode(ProviderKind::ollama, true, "application/x-ndjson",
                                 body + "\n{\"message\":{\"content\":\"late\"}}\nnot json");
    CHECK(after.error.empty());
    CHECK(after.content == d.content);
}

TEST_CASE("ollama whole body") {
    const std::string body =
        R"({"model":"llama3.2","message":{"role":"assistant","content":"Use a cache."},"done":true,"done_reason":"length",)"
        R"("prompt_eval_count":11,"eval_count":4})";
    const Decoded d = decode(ProviderKind::ollama, false, "application/json; charset=utf-8", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Use a cache.");
    CHECK(d.finish_reason == "length");
    CHECK(d.in == 11u);
    CHECK(d.out == 4u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::ollama, false, "application/json", body);
    CHECK(decode(ProviderKind::ollama, false, "application/json", R"({"error":"model 'x' not found"})").error ==
          "provider_error: model 'x' not found");
    CHECK(starts_with(decode(ProviderKind::ollama, false, "application/json", "{\"message\":").error,
                      "protocol_error: invalid JSON"));
}

// ===========================================================================
TEST_CASE("anthropic stream: named events to message_stop; split anywhere; unknown events ignored") {
    const std::string body =
        "event: message_start\ndata: "
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}"
        "\n\n"
        "event: content_block_start\ndata: "
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}"
        "\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"abc\"}}"
        "\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: ping\ndata: {\"type\": \"ping\"}\n\n"
        "event: content_block_start\ndata: "
        "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n"
        "event: some_future_event\ndata: {\"type\":\"some_future_event\",\"whatever\":[1,2]}\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"th\xc3\xa9re\"}}"
        "\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: content_block_start\ndata: "
        "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":"
        "\"f\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{"
        "\\\"a\\\":\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
        "event: message_delta\ndata: "
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{"
        "\"output_tokens\":15}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    const Decoded d = decode(ProviderKind::anthropic, true, "text/event-stream; charset=utf-8", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Hi th\xc3\xa9re");
    CHECK(d.in == 12u);
    CHECK(d.out == 15u);
    CHECK(d.finish_reason == "end_turn");
    CHECK(d.complete);
    same_at_every_split(ProviderKind::anthropic, true, "text/event-stream", body);

    SUBCASE("without event names, the type inside the data decides") {
        std::string unnamed;
        for (std::size_t at = 0; at < body.size();) {
            const std::size_t end = body.find("\n\n", at) + 2;
            const std::string event = body.substr(at, end - at);
            unnamed += event.substr(event.find('\n') + 1);
            at = end;
        }
        CHECK(unnamed.find("event:") == std::string::npos);
        check_same(decode(ProviderKind::anthropic, true, "text/event-stream", unnamed), d);
    }
    SUBCASE("no message_stop, malformed JSON, wrong content type") {
        const Decoded cut = decode(ProviderKind::anthropic, true, "text/event-stream",
                                   body.substr(0, body.rfind("event: message_stop")));
        CHECK(cut.error == "protocol_error: the stream ended without message_stop");
        CHECK(cut.content == d.content);
        CHECK(starts_with(decode(ProviderKind::anthropic, true, "text/event-stream",
                                 "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":\n\n")
                              .error,
                          "protocol_error: invalid JSON in a stream event"));
        CHECK(starts_with(decode(ProviderKind::anthropic, true, "application/json", body).error,
                          "protocol_error: expected text/event-stream"));
    }
}

TEST_CASE("anthropic stream: error events, retryable when transient") {
    const std::string start =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n";
    const Decoded overloaded =
        decode(ProviderKind::anthropic, true, "text/event-stream",
               start +
                   "event: error\ndata: "
                   "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    CHECK(overloaded.error == "provider_error: overloaded_error: Overloaded");
    CHECK(overloaded.retryable);
    for (const char *type : {"api_error", "rate_limit_error"}) {
        const Decoded e = decode(ProviderKind::anthropic, true, "text/event-stream",
                                 std::string("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"") + type +
                                     "\",\"message\":\"m\"}}\n\n");
        CHECK(e.error == std::string("provider_error: ") + type + ": m");
        CHECK(e.retryable);
    }
    const Decoded invalid =
        decode(ProviderKind::anthropic, true, "text/event-stream",
               "data: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}\n\n");
    CHECK(invalid.error == "provider_error: invalid_request_error: bad");
    CHECK(!invalid.retryable);
}

TEST_CASE("anthropic whole body: text blocks joined, stop_reason, usage") {
    const std::string body =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[)"
        R"({"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Use "},)"
        R"({"type":"tool_use","id":"t","name":"f","input":{}},{"type":"text","text":"a cache."}],)"
        R"("stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":5}})";
    const Decoded d = decode(ProviderKind::anthropic, false, "application/json", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Use a cache.");
    CHECK(d.finish_reason == "max_tokens");
    CHECK(d.in == 20u);
    CHECK(d.out == 5u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::anthropic, false, "application/json", body);
    CHECK(decode(ProviderKind::anthropic, false, "application/json",
                 R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")
              .error == "provider_error: overloaded_error: Overloaded");
    CHECK(starts_with(decode(ProviderKind::anthropic, false, "application/json", "not json").error,
                      "protocol_error: invalid JSON"));
}

// ===========================================================================
TEST_CASE("gemini stream: chunks that simply end; split anywhere; blocked prompts and errors") {
    const std::string body =
        "data: "
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"thinking...\",\"thought\":true}]},"
        "\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4},\"modelVersion\":\"gemini-2.5-flash\"}"
        "\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Use \"},{\"text\":\"a "
        "\",\"thought\":false}]},\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1,\"totalTokenCount\":5}}\r\n\r\n"
        "data: "
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"cach\xc3\xa9\"}]},\"finishReason\":"
        "\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"totalTokenCount\":7}}\r\n\r\n";
    const Decoded d = decode(ProviderKind::gemini, true, "text/event-stream", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Use a cach\xc3\xa9");
    CHECK(d.finish_reason == "STOP");
    CHECK(d.in == 4u);
    CHECK(d.out == 3u);
    CHECK(d.complete);  // no end marker: the end of the body is the end
    same_at_every_split(ProviderKind::gemini, true, "text/event-stream", body);

    CHECK(decode(ProviderKind::gemini, true, "text/event-stream", "").error ==
          "protocol_error: the stream ended without any chunk");
    CHECK(decode(ProviderKind::gemini, true, "text/event-stream", body + "data: {\"candidates\":").error ==
          "protocol_error: the stream ended inside an event");
    CHECK(decode(ProviderKind::gemini, true, "text/event-stream",
                 "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n")
              .error == "provider_error: blocked: SAFETY");
    const Decoded err = decode(
        ProviderKind::gemini, true, "text/event-stream",
        body.substr(0, body.find("\r\n\r\n") + 4) +
            "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n");
    CHECK(err.error == "provider_error: UNAVAILABLE: The model is overloaded.");
    CHECK(starts_with(decode(ProviderKind::gemini, true, "text/event-stream", "data: {\"candidates\":[}\n\n").error,
                      "protocol_error: invalid JSON in a stream event"));
    CHECK(starts_with(decode(ProviderKind::gemini, true, "application/json", body).error,
                      "protocol_error: expected text/event-stream"));
}

TEST_CASE("gemini whole body") {
    const std::string body =
        R"({"candidates":[{"content":{"parts":[{"text":"Use "},{"text":"a cache."}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],)"
        R"("usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":4,"totalTokenCount":12},"modelVersion":"gemini-2.0-flash"})";
    const Decoded d = decode(ProviderKind::gemini, false, "application/json; charset=UTF-8", body);
    CHECK(d.error.empty());
    CHECK(d.content == "Use a cache.");
    CHECK(d.finish_reason == "MAX_TOKENS");
    CHECK(d.in == 8u);
    CHECK(d.out == 4u);
    CHECK(d.complete);
    same_at_every_split(ProviderKind::gemini, false, "application/json", body);
    CHECK(decode(ProviderKind::gemini, false, "application/json",
                 R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8}})")
              .error == "provider_error: blocked: SAFETY");
    CHECK(decode(ProviderKind::gemini, false, "application/json", R"({"usageMetadata":{}})").error ==
          "protocol_error: the response has no candidates");
}

// ===========================================================================
TEST_CASE("error messages of non-2xx bodies, in every provider's shape") {
    for (ProviderKind kind :
         {ProviderKind::openai, ProviderKind::ollama, ProviderKind::anthropic, ProviderKind::gemini}) {
        CAPTURE(to_string(kind));
        const Provider &p = provider_for(kind);
        CHECK(
            p.error_message(
                R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})") ==
            "requests: Rate limit reached");
        CHECK(
            p.error_message(
                R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})") ==
            "overloaded_error: Overloaded");
        CHECK(p.error_message(R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})") ==
              "RESOURCE_EXHAUSTED: Quota exceeded");
        CHECK(p.error_message(R"({"error":"model 'x' not found, try pulling it first"})") ==
              "model 'x' not found, try pulling it first");
        CHECK(p.error_message("\n<html>\r\n<body>Bad gateway</body>\t</html>\n") ==
              "<html>  <body>Bad gateway</body> </html>");
        CHECK(p.error_message(R"({"detail":"Not Found"})") == R"({"detail":"Not Found"})");
        CHECK(p.error_message("") == "");
        CHECK(p.error_message(std::string(1000, 'x')) == std::string(200, 'x') + "...");
        // an excerpt is never cut inside a UTF-8 character
        CHECK(p.error_message(std::string(199, 'x') + "\xc3\xa9 tail") == std::string(199, 'x') + "...");
    }
}

TEST_CASE("provider_for: one shared instance per kind") {
    CHECK(&provider_for(ProviderKind::openai) == &provider_for(ProviderKind::openai));
    CHECK(&provider_for(ProviderKind::openai) != &provider_for(ProviderKind::gemini));
    CHECK(&provider_for(ProviderKind::ollama) != &provider_for(ProviderKind::anthropic));
}
