#include "wire_formats.hpp"

#include <boost/json.hpp>

namespace coe::test {

namespace json = boost::json;

namespace {

constexpr std::int64_t created = 1767225600;  // 2026-01-01T00:00:00Z
constexpr const char *created_at = "2026-01-01T00:00:00Z";

json::object openai_usage(const Answer &a) {
    return {{"prompt_tokens", a.prompt_tokens},
            {"completion_tokens", a.completion_tokens},
            {"total_tokens", a.prompt_tokens + a.completion_tokens}};
}

json::object openai_chunk(const Answer &a, json::object delta, json::value finish) {
    return {
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion.chunk"},
        {"created", created},
        {"model", a.model},
        {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}};
}

json::object ollama_line(const Answer &a, const std::string &content, bool done) {
    json::object o{{"model", a.model},
                   {"created_at", created_at},
                   {"message", {{"role", "assistant"}, {"content", content}}},
                   {"done", done}};
    if (done) {
        o["done_reason"] = "stop";
        o["total_duration"] = 1000000;
        o["prompt_eval_count"] = a.prompt_tokens;
        o["eval_count"] = a.completion_tokens;
    }
    return o;
}

json::object gemini_chunk(const Answer &a, const std::string &text, bool finish, bool usage) {
    json::object candidate{{"content", {{"role", "model"}, {"parts", json::array{json::object{{"text", text}}}}}},
                           {"index", 0}};
    if (finish) candidate["finishReason"] = "STOP";
    json::object o{{"candidates", json::array{std::move(candidate)}}};
    if (usage)
        o["usageMetadata"] = {{"promptTokenCount", a.prompt_tokens},
                              {"candidatesTokenCount", a.completion_tokens},
                              {"totalTokenCount", a.prompt_tokens + a.completion_tokens}};
    o["modelVersion"] = a.model;
    return o;
}

}  // namespace

std::string whole_body(Provider provider, const Answer &a) {
    switch (provider) {
    case Provider::openai:
        return json::serialize(json::object{
            {"id", "chatcmpl-fake"},
            {"object", "chat.completion"},
            {"created", created},
            {"model", a.model},
            {"choices",
             json::array{json::object{
                 {"index", 0}, {"message", {{"role", "assistant"}, {"content", a.text}}}, {"finish_reason", "stop"}}}},
            {"usage", openai_usage(a)}});
    case Provider::ollama: return json::serialize(ollama_line(a, a.text, true));
    case Provider::anthropic:
        return json::serialize(
            json::object{{"id", "msg_fake"},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", a.model},
                         {"content", json::array{json::object{{"type", "text"}, {"text", a.text}}}},
                         {"stop_reason", "end_turn"},
                         {"stop_sequence", nullptr},
                         {"usage", {{"input_tokens", a.prompt_tokens}, {"output_tokens", a.completion_tokens}}}});
    case Provider::gemini: return json::serialize(gemini_chunk(a, a.text, true, true));
    }
    return "";
}

std::string error_body(Provider provider, int code, const std::string &message) {
    switch (provider) {
    case Provider::anthropic: {
        const char *type = code == 529   ? "overloaded_error"
                           : code == 429 ? "rate_limit_error"
                           : code == 401 ? "authentication_error"
                           : code == 403 ? "permission_error"
                           : code == 404 ? "not_found_error"
                           : code >= 500 ? "api_error"
                                         : "invalid_request_error";
        return json::serialize(json::object{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
    }
    case Provider::gemini: {
        const char *status = code == 429                  ? "RESOURCE_EXHAUSTED"
                             : code == 503                ? "UNAVAILABLE"
                             : code == 401                ? "UNAUTHENTICATED"
                             : code == 403                ? "PERMISSION_DENIED"
                             : code == 404                ? "NOT_FOUND"
                             : code == 408 || code == 504 ? "DEADLINE_EXCEEDED"
                             : code >= 500                ? "INTERNAL"
                                                          : "INVALID_ARGUMENT";
        return json::serialize(json::object{{"error", {{"code", code}, {"message", message}, {"status", status}}}});
    }
    case Provider::ollama: return json::serialize(json::object{{"error", message}});
    case Provider::openai: break;
    }
    const char *type = code == 429 ? "rate_limit_exceeded" : code >= 500 ? "server_error" : "invalid_request_error";
    json::value error_code = nullptr;
    if (code == 401) error_code = "invalid_api_key";
    if (code == 429) error_code = "rate_limit_exceeded";
    return json::serialize(json::object{{"error", {{"message", message}, {"type", type}, {"code", error_code}}}});
}

StreamEvents stream_events(Provider provider, const Answer &a, const std::string &eol, bool multiline_data,
                           bool finish) {
    auto sse = [&](const json::value &data, const char *event = nullptr) {
        std::string e = event != nullptr ? std::string("event: ") + event + eol : std::string();
        return e + "data: " + json::serialize(data) + eol + eol;
    };
    StreamEvents s;
    s.content_type = provider == Provider::ollama ? "application/x-ndjson" : "text/event-stream";
    if (provider != Provider::ollama) s.before.push_back(": keep-alive" + eol + eol);
    switch (provider) {
    case Provider::openai:
        s.before.push_back(sse(openai_chunk(a, {{"role", "assistant"}, {"content", ""}}, nullptr)));
        for (std::size_t i = 0; i < a.pieces.size(); ++i) {
            const json::object chunk = openai_chunk(a, {{"content", a.pieces[i]}}, nullptr);
            if (i != 0 || !multiline_data) {
                s.pieces.push_back(sse(chunk));
                continue;
            }
            const std::string j = json::serialize(chunk);  // legal SSE: the client joins data lines with \n
            const auto cut = j.find(',') + 1;
            s.pieces.push_back("data: " + j.substr(0, cut) + eol + "data: " + j.substr(cut) + eol + eol);
        }
        s.after.push_back(sse(openai_chunk(a, {}, "stop")));
        if (a.include_usage)
            s.after.push_back(sse(json::object{{"id", "chatcmpl-fake"},
                                               {"object", "chat.completion.chunk"},
                                               {"created", created},
                                               {"model", a.model},
                                               {"choices", json::array{}},
                                               {"usage", openai_usage(a)}}));
        s.done = "data: [DONE]" + eol + eol;
        s.error = sse(json::object{{"error", {{"message", "The server had an error"}, {"type", "server_error"}}}});
        s.malformed = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"" + eol + eol;
        break;
    case Provider::ollama:
        for (const auto &piece : a.pieces) s.pieces.push_back(json::serialize(ollama_line(a, piece, false)) + "\n");
        s.done = json::serialize(ollama_line(a, "", true)) + "\n";
        s.error = "{\"error\":\"model crashed\"}\n";
        s.malformed = "{\"model\":\"x\",\"message\":{\n";
        break;
    case Provider::anthropic:
        s.before.push_back(sse(json::object{{"type", "message_start"},
                                            {"message",
                                             {{"id", "msg_fake"},
                                              {"type", "message"},
                                              {"role", "assistant"},
                                              {"model", a.model},
                                              {"content", json::array{}},
                                              {"stop_reason", nullptr},
                                              {"stop_sequence", nullptr},
                                              {"usage", {{"input_tokens", a.prompt_tokens}, {"output_tokens", 1}}}}}},
                               "message_start"));
        s.before.push_back(sse(
            json::object{
                {"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}},
            "content_block_start"));
        s.before.push_back(sse(json::object{{"type", "ping"}}, "ping"));
        for (const auto &piece : a.pieces)
            s.pieces.push_back(sse(json::object{{"type", "content_block_delta"},
                                                {"index", 0},
                                                {"delta", {{"type", "text_delta"}, {"text", piece}}}},
                                   "content_block_delta"));
        s.after.push_back(sse(json::object{{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop"));
        s.after.push_back(sse(json::object{{"type", "message_delta"},
                                           {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                                           {"usage", {{"output_tokens", a.completion_tokens}}}},
                              "message_delta"));
        s.done = sse(json::object{{"type", "message_stop"}}, "message_stop");
        s.error =
            sse(json::object{{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}},
                "error");
        s.malformed =
            "event: content_block_delta" + eol + "data: {\"type\":\"content_block_delta\",\"delta\":{" + eol + eol;
        break;
    case Provider::gemini:
        for (std::size_t i = 0; i < a.pieces.size(); ++i) {
            const bool last = i + 1 == a.pieces.size();
            s.pieces.push_back(sse(gemini_chunk(a, a.pieces[i], last && finish, last)));
        }
        s.error = sse(json::object{{"error", {{"code", 500}, {"message", "Internal error"}, {"status", "INTERNAL"}}}});
        s.malformed = "data: {\"candidates\":[{\"content\":" + eol + eol;
        break;
    }
    return s;
}

}  // namespace coe::test
