// fake_provider_server.hpp - an HTTP(S) server on 127.0.0.1 that speaks the
// wire formats of four LLM providers, streamed and not, and misbehaves on
// command.  For tests and benchmarks only.
//
// Routes (POST, HTTP/1.1, keep-alive):
//   .../v1/chat/completions                      OpenAI Chat Completions (SSE when "stream": true)
//   .../api/chat                                 Ollama (NDJSON unless "stream": false)
//   .../v1/messages                              Anthropic Messages (named SSE events when "stream": true)
//   .../v1beta/models/MODEL:generateContent      Gemini; MODEL is percent-decoded from the path
//   .../v1beta/models/MODEL:streamGenerateContent[?alt=sse]   Gemini SSE
//   .../v1/embeddings, .../api/embed             OpenAI and Ollama embeddings: each
//                                                word hashed into one of `dims=N`
//                                                (64) dimensions, normalised
// Anything else is a 404 with a JSON error.  Usage counts words: prompt =
// the words of every message text (system included), completion = the
// words of the answer.
//
// The behaviour is chosen by the request's model string: comma-separated
// directives, e.g. "reply=cache_b,status=429,fail=1,retry_after=1".  An
// unknown directive or a bad value answers 400 naming it.
//   reply=KEY        the answer: echo (the last user message), cache_a,
//                    cache_b, cache_c (three wordings of one advice: a Redis
//                    cache, invalidated on write), rewrite (dissent: rewrite
//                    in Rust), index (a database index), short ("Yes.");
//                    default cache_a
//   review=HOW       when the last user message is a peer review prompt
//                    (it asks for "RANKING:"), answer with a ranking of its
//                    answers: longest (default) or shortest first (the same
//                    answers ranked the same whatever their labels),
//                    alphabetical, none (no RANKING line), duplicate (a label twice)
//   auth=KEY         require KEY in the provider's header (OpenAI, Ollama:
//                    Authorization: Bearer; Anthropic: x-api-key with
//                    anthropic-version, or Bearer; Gemini: x-goog-api-key);
//                    bare "auth" requires Options::api_key.  Otherwise 401 in
//                    the provider's error shape; the key is never echoed.
//   fail=N           the faults below hit only the first N requests of this
//                    exact model string; default: every request
//   fail_every=K     the faults hit only every K-th request of this exact
//                    model string (K = 5: 20 %, deterministically); with
//                    fail=N, only the K-th requests among the first N
//   status=CODE      answer CODE with the provider's error JSON
//   retry_after=S, retry_after_ms=MS, retry_after_date (2 s ahead),
//   should_retry=true|false      Retry-After / retry-after-ms / x-should-retry
//   stall_first=MS   send nothing (headers included) for MS
//   stall_mid=MS     send headers and about half the stream, wait MS, go on
//   reset_mid        send headers and about half the stream, then RST
//   malformed        a line that is not JSON half-way (non-stream: a
//                    truncated body)
//   no_done          end without the terminal marker ([DONE], done:true,
//                    message_stop; Gemini: no finishReason)
//   error_event      the provider's mid-stream error half-way, then end
//   split=N          N body bytes per write and per HTTP chunk
//   crlf | cr        SSE lines end in \r\n or \r
//   multiline_data   OpenAI: one event's JSON on two data: lines
//   oversize=BYTES   an answer of BYTES bytes, streamed in ~16 KB pieces
//   content_type=T   this Content-Type instead (body unchanged)
//   delay=MS         MS between stream pieces
// SSE streams start with a ": keep-alive" comment.  Bodies are chunked when
// streamed or split, Content-Length otherwise.  Requests over 16 MB get 413;
// idle keep-alive connections close after 30 s.
//
// Threading: the server runs on its own thread(s) (Options::threads, each
// connection on a strand); every public member may be called from any
// thread.  All waits are asio timers.  The destructor stops the threads,
// closes every connection, stalled ones too, and returns promptly.
// Errors: the constructor throws boost::system::system_error when it cannot
// bind or load the TLS certificate/key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace coe::test {

struct RecordedRequest {
    std::string method, target;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
    std::string body;
};

class FakeProviderServer {
public:
    struct Options {
        bool tls = false;
        std::string cert_file, key_file;  // PEM, for TLS
        unsigned threads = 1;             // serving threads (0 counts as 1)
        std::string api_key;              // what a bare "auth" directive requires
    };
    FakeProviderServer();  // Options{}
    explicit FakeProviderServer(Options options);
    ~FakeProviderServer();
    FakeProviderServer(const FakeProviderServer &) = delete;
    FakeProviderServer &operator=(const FakeProviderServer &) = delete;

    std::uint16_t port() const;
    std::string base_url() const;  // http://127.0.0.1:PORT or https://...
    // Requests seen whose model string equals `model`; all requests.
    std::size_t request_count(const std::string &model) const;
    std::size_t request_count() const;
    std::vector<RecordedRequest> requests() const;  // copies, in arrival order

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// Writes cert.pem and key.pem (self-signed, CN=127.0.0.1, subjectAltName
// IP:127.0.0.1 and DNS:localhost) into the existing folder `dir` with the
// openssl command line tool; false on failure.
bool make_self_signed_certificate(const std::string &dir);

}  // namespace coe::test
