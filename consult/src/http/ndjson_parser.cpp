#include "http/ndjson_parser.hpp"

#include "providers/provider.hpp"

namespace coe::net {

void NdjsonParser::deliver(const Handler &on_line) {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.find_first_not_of(" \t") != std::string::npos) on_line(line_);
    line_.clear();
}

void NdjsonParser::feed(std::string_view bytes, const Handler &on_line) {
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (line_.size() + part.size() > max_line_)
            throw ProviderError("protocol_error", "stream line longer than " + std::to_string(max_line_) + " bytes");
        line_.append(part);
        if (nl == std::string_view::npos) return;
        deliver(on_line);
        bytes.remove_prefix(nl + 1);
    }
}

void NdjsonParser::finish(const Handler &on_line) { deliver(on_line); }

}  // namespace coe::net
