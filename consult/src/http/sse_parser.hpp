// sse_parser.hpp - Server-Sent Events, parsed incrementally as the WHATWG
// rules (and the official SDKs) say: lines end at \n, \r\n or \r (also when
// the \r and \n arrive in different chunks); a blank line dispatches the
// event; ':' starts a comment; one space after the colon is dropped;
// several data lines are joined with \n; an event without data is not
// dispatched.  One parser per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace coe::net {

class SseParser {
public:
    struct Event {
        std::string event;  // empty: the default type ("message")
        std::string data;
        std::string id;
    };
    using Handler = std::function<void(const Event &)>;

    explicit SseParser(std::size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}
    // Feeds bytes split anywhere; calls on_event for each complete event.
    // Throws ProviderError("protocol_error") on a line longer than the limit.
    void feed(std::string_view bytes, const Handler &on_event);
    // True when data lines arrived that no blank line has dispatched yet.
    bool has_partial_event() const { return has_data_ || !line_.empty(); }

private:
    void line(const Handler &on_event);

    std::size_t max_line_;
    std::string line_;
    bool last_was_cr_ = false;
    Event pending_;
    bool has_data_ = false;
};

}  // namespace coe::net
