#include "http/sse_parser.hpp"

#include <string>

#include "providers/provider.hpp"

namespace coe::net {

void SseParser::feed(std::string_view bytes, const Handler &on_event) {
    while (!bytes.empty()) {
        if (skip_lf_) {  // the \n of a \r\n, maybe in the next chunk
            skip_lf_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const std::size_t end = bytes.find_first_of("\r\n");
        const std::string_view piece = bytes.substr(0, end);
        if (line_.size() + piece.size() > max_line_)
            throw ProviderError("protocol_error",
                                "event stream line longer than " + std::to_string(max_line_) + " bytes");
        if (end == std::string_view::npos) {
            line_.append(piece);
            return;
        }
        skip_lf_ = bytes[end] == '\r';
        bytes.remove_prefix(end + 1);
        if (line_.empty()) {
            line(piece, on_event);  // the whole line is in this chunk: no copy
        } else {
            line_.append(piece);
            line(line_, on_event);
            line_.clear();
        }
    }
}

void SseParser::line(std::string_view text, const Handler &on_event) {
    if (text.empty()) {  // dispatch
        if (has_data_) {
            has_data_ = false;
            on_event(pending_);
            pending_.data.clear();
        }
        pending_.event.clear();
        return;
    }
    if (text.front() == ':') return;  // comment
    std::string_view field = text, value;
    if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) {
        field = text.substr(0, colon);
        value = text.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        if (has_data_) pending_.data += '\n';
        pending_.data.append(value);
        has_data_ = true;
    } else if (field == "event") {
        pending_.event.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) pending_.id.assign(value);
    } else if (field == "retry") {
        if (!value.empty() && value.size() <= 18 && value.find_first_not_of("0123456789") == std::string_view::npos)
            retry_ms_ = std::stoull(std::string(value));
    }  // other fields are ignored
}

}  // namespace coe::net
