// provider.hpp - one wire format: turns a question into an HTTP request and
// a response body (streamed or whole) into answer text and token counts.
// Providers do no I/O and keep no state between requests; a decoder holds
// the state of one response.  Thread-safety: a Provider is immutable and
// shared; a ResponseDecoder is used by one request on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coe/error.hpp"
#include "coe/experts.hpp"

namespace coe::net {

struct HttpRequest {
    std::string method = "POST";
    std::string url;  // never holds a key (Gemini's goes in x-goog-api-key)
    // May hold the API key: never print or log them.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// What the circle asks one expert.
struct ChatPrompt {
    std::string system;    // may be empty
    std::string question;  // the user's message
};

// The answer as it is decoded.  Decoders append through append() so the
// streaming consumer sees each delta.
struct DecodedAnswer {
    std::string content;
    std::optional<std::uint64_t> tokens_in, tokens_out;
    std::string finish_reason;                       // the provider's word ("stop", "end_turn", ...), may stay empty
    bool complete = false;                           // the terminal marker was seen (or a whole body decoded)
    std::function<void(std::string_view)> on_delta;  // optional, called for each appended piece

    void append(std::string_view delta) {
        if (delta.empty()) return;
        content.append(delta);
        if (on_delta) on_delta(delta);
    }
};

// A response the decoder cannot accept.  kind "protocol_error": malformed
// SSE/NDJSON/JSON, wrong content type, a stream that ended early;
// "provider_error": the provider reported an error inside a 200 response
// (the message is the provider's own, e.g. "overloaded_error: Overloaded").
// `retryable` is true when the provider says the error is transient
// (e.g. Anthropic's overloaded_error mid-stream).
class ProviderError : public Error {
public:
    ProviderError(std::string kind, const std::string &message, bool retryable = false)
        : Error(message), kind_(std::move(kind)), retryable_(retryable) {}
    const std::string &kind() const { return kind_; }
    bool retryable() const { return retryable_; }

private:
    std::string kind_;
    bool retryable_;
};

class ResponseDecoder {
public:
    virtual ~ResponseDecoder() = default;
    // Called once, before any body bytes, with the response's Content-Type
    // (may be empty).  Throws ProviderError("protocol_error") on a type the
    // format cannot be (e.g. text/html for an SSE stream).
    virtual void start(std::string_view content_type) = 0;
    // Body bytes as they arrive, split anywhere (even inside a UTF-8
    // character or a line ending).  Throws ProviderError.
    virtual void feed(std::string_view bytes, DecodedAnswer &answer) = 0;
    // The body ended.  Throws ProviderError if the answer is incomplete
    // (no [DONE] / done:true / message_stop; Gemini may simply end).
    virtual void finish(DecodedAnswer &answer) = 0;
};

class Provider {
public:
    virtual ~Provider() = default;
    // The chat request for `expert`; `api_key` is empty when the expert has
    // none.  The key goes into a header, never the URL.
    virtual HttpRequest chat_request(const ExpertConfig &expert, const ChatPrompt &prompt, bool stream,
                                     const std::string &api_key) const = 0;
    virtual std::unique_ptr<ResponseDecoder> make_decoder(bool stream) const = 0;
    // The provider's own error message from a non-2xx body (JSON error
    // shapes of each API), or a short excerpt of the body; never throws.
    virtual std::string error_message(std::string_view body) const = 0;
};

// The provider for a kind; the objects live for the whole process.
const Provider &provider_for(ProviderKind kind);

}  // namespace coe::net
