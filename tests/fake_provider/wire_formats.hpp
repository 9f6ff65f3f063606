// wire_formats.hpp - the bytes each provider sends: whole JSON answers,
// error bodies, and stream events already framed (SSE or NDJSON lines).
// Pure functions, no I/O, no faults (fake_responses.cpp decides those);
// safe on any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace coe::test {

enum class Provider { openai, ollama, anthropic, gemini };

struct Answer {
    std::string model, text;
    std::vector<std::string> pieces;  // text, cut for streaming
    std::size_t prompt_tokens = 0, completion_tokens = 0;
    bool include_usage = false;  // OpenAI stream_options.include_usage
};

// A whole, non-streamed answer.
std::string whole_body(Provider provider, const Answer &answer);

// The provider's error JSON for HTTP status `code`.
std::string error_body(Provider provider, int code, const std::string &message);

struct StreamEvents {
    std::string content_type;
    std::vector<std::string> before, pieces, after;  // in this order; pieces[i] carries answer.pieces[i]
    std::string done;                                // the terminal marker ("" for Gemini: it just ends)
    std::string error, malformed;                    // a mid-stream error event; a line that is not JSON
};

// The streamed answer.  `eol` ends SSE lines ("\n", "\r\n" or "\r");
// `multiline_data` puts OpenAI's first piece on two data: lines;
// `finish` false leaves out Gemini's finishReason.
StreamEvents stream_events(Provider provider, const Answer &answer, const std::string &eol, bool multiline_data,
                           bool finish);

}  // namespace coe::test
