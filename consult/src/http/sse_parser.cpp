#include "http/sse_parser.hpp"

#include "providers/provider.hpp"

namespace coe::net {

void SseParser::feed(std::string_view bytes, const Handler &on_event) {
    for (char c : bytes) {
        if (c == '\n' && last_was_cr_) {  // the \n of a \r\n, maybe split across chunks
            last_was_cr_ = false;
            continue;
        }
        last_was_cr_ = c == '\r';
        if (c == '\r' || c == '\n') {
            line(on_event);
            line_.clear();
            continue;
        }
        if (line_.size() >= max_line_)
            throw ProviderError("protocol_error", "stream line longer than " + std::to_string(max_line_) + " bytes");
        line_ += c;
    }
}

void SseParser::line(const Handler &on_event) {
    if (line_.empty()) {  // dispatch
        if (has_data_) {
            Event e = std::move(pending_);
            pending_ = Event{};
            has_data_ = false;
            on_event(e);
        } else {
            pending_.event.clear();
        }
        return;
    }
    if (line_[0] == ':') return;  // comment
    const auto colon = line_.find(':');
    std::string_view field(line_), value;
    if (colon != std::string::npos) {
        field = std::string_view(line_).substr(0, colon);
        value = std::string_view(line_).substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        if (has_data_) pending_.data += '\n';
        pending_.data.append(value);
        has_data_ = true;
    } else if (field == "event") {
        pending_.event = std::string(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) pending_.id = std::string(value);
    }  // "retry" and unknown fields: nothing for a client that does not reconnect
}

}  // namespace coe::net
