// Google Gemini: POST {base_url}/v1beta/models/{model}:generateContent, or
// :streamGenerateContent?alt=sse (SSE "data:" chunks, each a whole
// GenerateContentResponse; the stream simply ends).  The key goes in the
// x-goog-api-key header, never in the URL.
#include <cctype>

#include <boost/json.hpp>

#include "providers/provider_json.hpp"
#include "providers/providers.hpp"

namespace coe::net {

namespace json = boost::json;

namespace {

// A thinking model's thought summary is not the answer.
bool is_thought(const json::value &part) {
    const json::value *t = at_path(part, {"thought"});
    return t != nullptr && t->is_bool() && t->get_bool();
}

// One GenerateContentResponse, a whole body or a stream chunk.
void take(const json::value &v, DecodedAnswer &a) {
    const std::string err = error_in(v);
    if (!err.empty()) throw ProviderError("provider_error", err);
    const json::value *candidates = at_path(v, {"candidates"});
    if (candidates == nullptr || !candidates->is_array() || candidates->get_array().empty()) {
        const std::string blocked = string_at(v, {"promptFeedback", "blockReason"});
        if (!blocked.empty()) throw ProviderError("provider_error", "blocked: " + blocked);
    } else {
        const json::value &c = candidates->get_array()[0];
        const json::value *parts = at_path(c, {"content", "parts"});
        if (parts != nullptr && parts->is_array())
            for (const auto &part : parts->get_array())
                if (!is_thought(part)) a.append(string_at(part, {"text"}));
        const std::string reason = string_at(c, {"finishReason"});
        if (!reason.empty()) a.finish_reason = reason;
    }
    if (auto n = count_at(v, {"usageMetadata", "promptTokenCount"})) a.tokens_in = n;
    if (auto n = count_at(v, {"usageMetadata", "candidatesTokenCount"})) a.tokens_out = n;
}

class WholeDecoder : public WholeBodyDecoder {
    void decode(const json::value &v, DecodedAnswer &a) override {
        if (at_path(v, {"candidates"}) == nullptr && at_path(v, {"promptFeedback"}) == nullptr)
            throw ProviderError("protocol_error", "the response has no candidates");
        take(v, a);
    }
};

class StreamDecoder : public SseDecoder {
    void handle(const SseParser::Event &e, DecodedAnswer &a) override {
        take(parse_provider_json(e.data, "a stream event"), a);
    }
    void at_end(DecodedAnswer &a) override {
        if (events_ == 0) throw ProviderError("protocol_error", "the stream ended without any chunk");
        end(a);  // Gemini streams have no end marker
    }
};

// The model as one path segment: anything but unreserved characters escaped.
std::string path_segment(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ',' || c == '=') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

class GeminiProvider : public DecodingProvider<WholeDecoder, StreamDecoder> {
public:
    HttpRequest chat_request(const ExpertConfig &e, const ChatPrompt &p, bool stream,
                             const std::string &key) const override {
        json::object generation{{"maxOutputTokens", e.max_tokens}};
        put_temperature(generation, e);
        json::object body{
            {"contents",
             json::array{json::object{{"role", "user"}, {"parts", json::array{json::object{{"text", p.question}}}}}}},
            {"generationConfig", std::move(generation)}};
        if (!p.system.empty())
            body["systemInstruction"] = json::object{{"parts", json::array{json::object{{"text", p.system}}}}};
        HttpRequest r;
        // "models/gemini-x" (the API's resource name) and "gemini-x" name the same model
        const std::string_view model = std::string_view(e.model).substr(e.model.rfind("models/", 0) == 0 ? 7 : 0);
        r.url = e.base_url + "/v1beta/models/" + path_segment(model) +
                (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
        r.headers = {{"Content-Type", "application/json"}};
        if (!key.empty()) r.headers.emplace_back("x-goog-api-key", key);
        r.body = json::serialize(body);
        return r;
    }
};

}  // namespace

std::unique_ptr<Provider> make_gemini_provider() { return std::make_unique<GeminiProvider>(); }

}  // namespace coe::net
