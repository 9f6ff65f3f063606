// provider_json.hpp - what the four wire formats share: JSON access that
// never throws on a missing field, error-message extraction, and the three
// decoder shapes (whole JSON body, SSE stream, NDJSON stream) that each
// provider fills in with its own event handling.  Private to coe_consult.
// Free functions are pure and thread-safe; a decoder serves one response
// on one thread.  Errors are ProviderError (see provider.hpp).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "http/ndjson_parser.hpp"
#include "http/sse_parser.hpp"
#include "providers/provider.hpp"

namespace coe::net {

// Parses JSON or throws ProviderError("protocol_error", "invalid JSON in
// <what>: ... (<excerpt>)").
boost::json::value parse_provider_json(std::string_view text, const char *what);
// One line, control characters replaced, at most `max` bytes (cut between
// UTF-8 characters) and "..." when cut.
std::string excerpt(std::string_view text, std::size_t max = 200);
// The value at a path of object keys, or nullptr.
const boost::json::value *at_path(const boost::json::value &v, std::initializer_list<std::string_view> keys);
std::string string_at(const boost::json::value &v, std::initializer_list<std::string_view> keys);
std::optional<std::uint64_t> count_at(const boost::json::value &v, std::initializer_list<std::string_view> keys);
// The provider's error message from any of the four APIs' error shapes:
// {"error":{"type"|"status","message"}}, {"type":"error","error":{...}},
// {"error":"text"}; "" when `v` holds none.
std::string error_in(const boost::json::value &v);
// error_in() of a body, or an excerpt of a body that is not such JSON.
std::string error_message_of_body(std::string_view body);
// Media type of a Content-Type (before ';', trimmed, lower-case) is one of `types`.
bool media_type_is(std::string_view content_type, std::initializer_list<std::string_view> types);
// The OpenAI/Ollama "messages": the system prompt (when there is one), then
// the question as the user's message.
boost::json::array chat_messages(const ChatPrompt &prompt);
// The request JSON's "temperature" when the expert sets one.
void put_temperature(boost::json::object &o, const ExpertConfig &e, std::string_view key = "temperature");

// A non-streamed answer: the whole body, decoded by decode() at the end.
class WholeBodyDecoder : public ResponseDecoder {
public:
    void start(std::string_view content_type) override;
    void feed(std::string_view bytes, DecodedAnswer &) override { body_.append(bytes); }
    void finish(DecodedAnswer &answer) override;

protected:
    virtual void decode(const boost::json::value &body, DecodedAnswer &answer) = 0;

private:
    std::string body_;
};

// What the two stream decoders share: once the format's terminal marker
// was seen (end()), whatever follows is ignored, even a cut-off event.
class StreamDecoderBase : public ResponseDecoder {
protected:
    void end(DecodedAnswer &answer) { ended_ = answer.complete = true; }
    bool ended() const { return ended_; }
    // Called at the end of the body when end() was not: throws if the
    // answer is incomplete, or accepts it (calls end()) where the format
    // has no terminal marker.
    virtual void at_end(DecodedAnswer &answer) = 0;

private:
    bool ended_ = false;
};

// A text/event-stream answer; handle() sees each event (its data is raw:
// "[DONE]" is not JSON).
class SseDecoder : public StreamDecoderBase {
public:
    void start(std::string_view content_type) override;
    void feed(std::string_view bytes, DecodedAnswer &answer) override;
    void finish(DecodedAnswer &answer) override;

protected:
    virtual void handle(const SseParser::Event &event, DecodedAnswer &answer) = 0;
    std::size_t events_ = 0;  // events dispatched so far

private:
    SseParser parser_;
};

// An application/x-ndjson answer; handle() sees each line's JSON.
class NdjsonDecoder : public StreamDecoderBase {
public:
    void start(std::string_view content_type) override;
    void feed(std::string_view bytes, DecodedAnswer &answer) override;
    void finish(DecodedAnswer &answer) override;

protected:
    virtual void handle(const boost::json::value &line, DecodedAnswer &answer) = 0;

private:
    void line(std::string_view text, DecodedAnswer &answer);
    NdjsonParser parser_;
};

// A provider whose answers decode with `Whole` (not streamed) or `Stream`,
// and whose error bodies have one of the shapes error_in() knows.
template <class Whole, class Stream>
class DecodingProvider : public Provider {
public:
    std::unique_ptr<ResponseDecoder> make_decoder(bool stream) const override {
        if (stream) return std::make_unique<Stream>();
        return std::make_unique<Whole>();
    }
    std::string error_message(std::string_view body) const override { return error_message_of_body(body); }
};

}  // namespace coe::net
