// Anthropic Messages: POST {base_url}/v1/messages with x-api-key and
// anthropic-version (or a bearer token); streamed as named SSE events
// message_start, content_block_start/delta/stop, message_delta, ping,
// message_stop, and error.  Unknown events are ignored, as the API adds them.
#include <boost/json.hpp>

#include "providers/provider_json.hpp"
#include "providers/providers.hpp"

namespace coe::net {

namespace json = boost::json;

namespace {

bool transient(const std::string &type) {
    return type == "overloaded_error" || type == "api_error" || type == "rate_limit_error";
}

// The events this decoder reads; others (ping, content_block_start/stop and
// whatever the API adds) are skipped unparsed.
bool known(std::string_view type) {
    return type == "message_start" || type == "content_block_delta" || type == "message_delta" ||
           type == "message_stop" || type == "error";
}

class WholeDecoder : public WholeBodyDecoder {
    void decode(const json::value &v, DecodedAnswer &a) override {
        const json::value *content = at_path(v, {"content"});
        if (content == nullptr || !content->is_array())
            throw ProviderError("protocol_error", "the response has no content array");
        for (const auto &block : content->get_array())
            if (string_at(block, {"type"}) == "text") a.append(string_at(block, {"text"}));
        a.finish_reason = string_at(v, {"stop_reason"});
        if (auto n = count_at(v, {"usage", "input_tokens"})) a.tokens_in = n;
        if (auto n = count_at(v, {"usage", "output_tokens"})) a.tokens_out = n;
    }
};

class StreamDecoder : public SseDecoder {
    void handle(const SseParser::Event &e, DecodedAnswer &a) override {
        if (!e.event.empty() && !known(e.event)) return;
        const json::value v = parse_provider_json(e.data, "a stream event");
        const std::string type = e.event.empty() ? string_at(v, {"type"}) : e.event;
        if (type == "error") {
            const std::string message = error_in(v);
            throw ProviderError("provider_error", message.empty() ? "error event: " + excerpt(e.data) : message,
                                transient(string_at(v, {"error", "type"})));
        }
        if (type == "message_start") {
            if (auto n = count_at(v, {"message", "usage", "input_tokens"})) a.tokens_in = n;
            if (auto n = count_at(v, {"message", "usage", "output_tokens"})) a.tokens_out = n;
        } else if (type == "content_block_delta") {
            if (string_at(v, {"delta", "type"}) == "text_delta") a.append(string_at(v, {"delta", "text"}));
        } else if (type == "message_delta") {
            const std::string reason = string_at(v, {"delta", "stop_reason"});
            if (!reason.empty()) a.finish_reason = reason;
            if (auto n = count_at(v, {"usage", "output_tokens"})) a.tokens_out = n;
            if (auto n = count_at(v, {"usage", "input_tokens"})) a.tokens_in = n;
        } else if (type == "message_stop") {
            end(a);
        }
    }
    void at_end(DecodedAnswer &) override {
        throw ProviderError("protocol_error", "the stream ended without message_stop");
    }
};

class AnthropicProvider : public DecodingProvider<WholeDecoder, StreamDecoder> {
public:
    HttpRequest chat_request(const ExpertConfig &e, const ChatPrompt &p, bool stream,
                             const std::string &key) const override {
        json::object body{{"model", e.model},
                          {"max_tokens", e.max_tokens},
                          {"messages", json::array{json::object{{"role", "user"}, {"content", p.question}}}},
                          {"stream", stream}};
        if (!p.system.empty()) body["system"] = p.system;
        put_temperature(body, e);
        HttpRequest r;
        r.url = e.base_url + "/v1/messages";
        r.headers = {{"content-type", "application/json"}, {"anthropic-version", e.anthropic_version}};
        if (stream) r.headers.emplace_back("accept", "text/event-stream");
        if (!key.empty()) {
            if (e.anthropic_auth == AnthropicAuth::bearer) r.headers.emplace_back("Authorization", "Bearer " + key);
            else r.headers.emplace_back("x-api-key", key);
        }
        r.body = json::serialize(body);
        return r;
    }
};

}  // namespace

std::unique_ptr<Provider> make_anthropic_provider() { return std::make_unique<AnthropicProvider>(); }

}  // namespace coe::net
