// provider_json.hpp - what the four wire formats share: JSON access that
// never throws on a missing field, error-message extraction, and the three
// decoder shapes (whole JSON body, SSE stream, NDJSON stream) that each
// provider fills in with its own event handling.
#pragma once

#include <cstdint>
#include <initializer_list>
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
// One line, control characters replaced, at most `max` bytes.
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

// A text/event-stream answer; handle() sees each event's JSON data.
class SseDecoder : public ResponseDecoder {
public:
    void start(std::string_view content_type) override;
    void feed(std::string_view bytes, DecodedAnswer &answer) override;
    void finish(DecodedAnswer &answer) override;

protected:
    // `data` is the event's data (raw: "[DONE]" is not JSON).
    virtual void handle(const SseParser::Event &event, DecodedAnswer &answer) = 0;
    // Called at the end of the stream; throws if the answer is incomplete.
    virtual void at_end(DecodedAnswer &answer) = 0;
    std::size_t events_ = 0;

private:
    SseParser parser_;
};

// An application/x-ndjson answer; handle() sees each line's JSON.
class NdjsonDecoder : public ResponseDecoder {
public:
    void start(std::string_view content_type) override;
    void feed(std::string_view bytes, DecodedAnswer &answer) override;
    void finish(DecodedAnswer &answer) override;

protected:
    virtual void handle(const boost::json::value &line, DecodedAnswer &answer) = 0;
    virtual void at_end(DecodedAnswer &answer) = 0;

private:
    NdjsonParser parser_;
};

}  // namespace coe::net
