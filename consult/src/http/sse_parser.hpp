// sse_parser.hpp - Server-Sent Events, parsed incrementally as the WHATWG
// rules (and the official SDKs) say: lines end at \n, \r\n or \r (also when
// the \r and \n arrive in different chunks); a blank line dispatches the
// event; ':' starts a comment; one space after the colon is dropped; a
// field without a colon has an empty value; several data lines are joined
// with \n; an event without data lines is not dispatched.  Fields: event,
// data, id (kept for later events, as the last event ID), retry; others are
// ignored.  Bytes may be split anywhere, even inside a UTF-8 character.
// Ownership: the parser copies what it keeps; an Event passed to the
// handler is valid during the call only.  One parser per stream; not
// thread-safe.  Errors: a line longer than the limit throws
// ProviderError("protocol_error"); after a throw (the parser's or the
// handler's) the parser is not to be fed again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace coe::net {

class SseParser {
public:
    struct Event {
        std::string event;  // empty: the default type ("message")
        std::string data;
        std::string id;  // the last event ID seen so far in the stream
    };
    using Handler = std::function<void(const Event &)>;

    explicit SseParser(std::size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}
    // Feeds bytes split anywhere; calls on_event for each complete event.
    void feed(std::string_view bytes, const Handler &on_event);
    // True when an event has begun (a data line, or an unfinished non-comment
    // line) that no blank line has dispatched yet: the stream was cut short.
    bool has_partial_event() const { return has_data_ || (!line_.empty() && line_[0] != ':'); }
    // The reconnection time the stream asked for ("retry: <digits>"), if any.
    std::optional<std::uint64_t> retry_ms() const { return retry_ms_; }

private:
    void line(std::string_view text, const Handler &on_event);

    std::size_t max_line_;
    std::string line_;      // an unfinished line
    bool skip_lf_ = false;  // the last line ended at \r: a \n next is part of it
    Event pending_;
    bool has_data_ = false;
    std::optional<std::uint64_t> retry_ms_;
};

}  // namespace coe::net
