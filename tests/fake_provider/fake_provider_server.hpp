// fake_provider_server.hpp - an HTTP(S) server on 127.0.0.1 that speaks the
// wire formats of OpenAI Chat Completions, Ollama /api/chat, Anthropic
// Messages and Gemini generateContent, streamed and not, and misbehaves on
// command.  For tests and benchmarks only.
//
// The behaviour is chosen by the request's model (the "model" field, or the
// Gemini path): comma-separated directives, e.g. "reply=cache_b,status=429,
// fail=1,retry_after=1".  Directives:
//   reply=KEY        the answer: echo (the last user message), cache_a,
//                    cache_b, cache_c (three wordings of one advice), rewrite,
//                    index (two other advices), short ("Yes."); default cache_a
//   fail=N           the faults below hit only the first N requests of this
//                    model string; default: every request
//   status=CODE      answer CODE with the provider's error JSON
//   retry_after=S, retry_after_ms=MS, retry_after_date, should_retry=true|false
//                    the retry headers (with status)
//   stall_first=MS   send nothing for MS;  stall_mid=MS  stall half-way
//   reset_mid        reset the connection half-way
//   malformed        invalid JSON half-way (a truncated body when not streamed)
//   no_done          end without the terminal marker
//   error_event      the provider's mid-stream error event half-way, then end
//   split=N          write N bytes per write and per HTTP chunk
//   crlf | cr        SSE lines end in \r\n or \r
//   multiline_data   OpenAI: one event's JSON on two data: lines
//   oversize=BYTES   an answer of BYTES bytes
//   content_type=T   this Content-Type instead
//   delay=MS         MS between stream pieces
//   auth             require the server's api_key in the provider's header
//                    (401 without it; the key is never echoed)
// Unknown directives answer 400.
//
// Threading: the server runs on its own thread; every public member may be
// called from any thread.  The destructor closes every connection, stalled
// ones too, and joins.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace coe::test {

struct RecordedRequest {
    std::string method, target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

class FakeProviderServer {
public:
    struct Options {
        bool tls = false;
        std::string cert_file, key_file;  // PEM, for TLS
        std::string api_key;              // what the "auth" directive requires
    };
    FakeProviderServer();
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

// Writes cert.pem and key.pem (self-signed, CN and subjectAltName
// 127.0.0.1 and localhost) into `dir` with the openssl tool.
bool make_self_signed_certificate(const std::string &dir);

}  // namespace coe::test
