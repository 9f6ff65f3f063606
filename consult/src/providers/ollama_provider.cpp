// Ollama: POST {base_url}/api/chat; streamed as NDJSON lines with
// message.content, the last one "done": true with prompt_eval_count and
// eval_count.
#include <boost/json.hpp>

#include "providers/provider_json.hpp"
#include "providers/providers.hpp"

namespace coe::net {

namespace json = boost::json;

namespace {

// One chat object, streamed line or whole body alike.
bool take(const json::value &v, DecodedAnswer &a) {
    const std::string err = error_in(v);
    if (!err.empty()) throw ProviderError("provider_error", err);
    const json::value *content = at_path(v, {"message", "content"});
    if (content != nullptr && content->is_string()) a.append(content->get_string());
    const json::value *done = at_path(v, {"done"});
    if (done == nullptr || !done->is_bool() || !done->get_bool()) return false;
    a.finish_reason = string_at(v, {"done_reason"});
    if (auto n = count_at(v, {"prompt_eval_count"})) a.tokens_in = n;
    if (auto n = count_at(v, {"eval_count"})) a.tokens_out = n;
    return true;
}

class WholeDecoder : public WholeBodyDecoder {
    void decode(const json::value &v, DecodedAnswer &a) override {
        if (at_path(v, {"message", "content"}) == nullptr)
            throw ProviderError("protocol_error", "the response has no message.content");
        take(v, a);
    }
};

class StreamDecoder : public NdjsonDecoder {
    void handle(const json::value &v, DecodedAnswer &a) override {
        if (take(v, a)) end(a);
    }
    void at_end(DecodedAnswer &) override {
        throw ProviderError("protocol_error", "the stream ended without \"done\": true");
    }
};

class OllamaProvider : public DecodingProvider<WholeDecoder, StreamDecoder> {
public:
    HttpRequest chat_request(const ExpertConfig &e, const ChatPrompt &p, bool stream,
                             const std::string &key) const override {
        json::array messages = chat_messages(p);
        json::object options{{"num_predict", e.max_tokens}};
        put_temperature(options, e);
        json::object body{
            {"model", e.model}, {"messages", std::move(messages)}, {"stream", stream}, {"options", std::move(options)}};
        HttpRequest r;
        r.url = e.base_url + "/api/chat";
        r.headers = {{"Content-Type", "application/json"}};
        if (!key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
        r.body = json::serialize(body);
        return r;
    }
};

}  // namespace

std::unique_ptr<Provider> make_ollama_provider() { return std::make_unique<OllamaProvider>(); }

}  // namespace coe::net
