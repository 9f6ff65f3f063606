// OpenAI Chat Completions (and every compatible server): POST
// {base_url}/chat/completions; streamed as SSE "data:" chunks with
// choices[0].delta.content, usage in a last chunk when asked through
// stream_options.include_usage, and "data: [DONE]" at the end.
#include <boost/json.hpp>

#include "providers/provider_json.hpp"
#include "providers/providers.hpp"

namespace coe::net {

namespace json = boost::json;

namespace {

void take_usage(const json::value &v, DecodedAnswer &a) {
    if (auto n = count_at(v, {"usage", "prompt_tokens"})) a.tokens_in = n;
    if (auto n = count_at(v, {"usage", "completion_tokens"})) a.tokens_out = n;
}

const json::value *first_choice(const json::value &v) {
    const json::value *c = at_path(v, {"choices"});
    if (c == nullptr || !c->is_array() || c->get_array().empty()) return nullptr;
    return &c->get_array()[0];
}

class WholeDecoder : public WholeBodyDecoder {
    void decode(const json::value &v, DecodedAnswer &a) override {
        const json::value *choice = first_choice(v);
        if (choice == nullptr) throw ProviderError("protocol_error", "the response has no choices");
        const json::value *content = at_path(*choice, {"message", "content"});
        if (content == nullptr || !(content->is_string() || content->is_null()))
            throw ProviderError("protocol_error", "choices[0].message.content is missing");
        if (content->is_string()) a.append(content->get_string());
        a.finish_reason = string_at(*choice, {"finish_reason"});
        take_usage(v, a);
    }
};

class StreamDecoder : public SseDecoder {
    void handle(const SseParser::Event &e, DecodedAnswer &a) override {
        if (e.data == "[DONE]") {  // nothing counts after it
            end(a);
            return;
        }
        const json::value v = parse_provider_json(e.data, "a stream event");
        const std::string err = error_in(v);
        if (!err.empty()) throw ProviderError("provider_error", err);
        if (const json::value *choice = first_choice(v)) {
            const json::value *d = at_path(*choice, {"delta", "content"});
            if (d != nullptr && d->is_string()) a.append(d->get_string());
            const std::string reason = string_at(*choice, {"finish_reason"});
            if (!reason.empty()) a.finish_reason = reason;
        }
        take_usage(v, a);
    }
    void at_end(DecodedAnswer &) override { throw ProviderError("protocol_error", "the stream ended without [DONE]"); }
};

class OpenAiProvider : public DecodingProvider<WholeDecoder, StreamDecoder> {
public:
    HttpRequest chat_request(const ExpertConfig &e, const ChatPrompt &p, bool stream,
                             const std::string &key) const override {
        json::array messages = chat_messages(p);
        json::object body{
            {"model", e.model}, {"messages", std::move(messages)}, {"max_tokens", e.max_tokens}, {"stream", stream}};
        put_temperature(body, e);
        if (stream) body["stream_options"] = json::object{{"include_usage", true}};
        HttpRequest r;
        r.url = e.base_url + "/chat/completions";
        r.headers = {{"Content-Type", "application/json"},
                     {"Accept", stream ? "text/event-stream" : "application/json"}};
        if (!key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
        r.body = json::serialize(body);
        return r;
    }
};

}  // namespace

std::unique_ptr<Provider> make_openai_provider() { return std::make_unique<OpenAiProvider>(); }

}  // namespace coe::net
