#include "http/ndjson_parser.hpp"

#include <string>

#include "providers/provider.hpp"

namespace coe::net {

namespace {

void deliver(std::string_view line, const NdjsonParser::Handler &on_line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) on_line(line);
}

}  // namespace

void NdjsonParser::feed(std::string_view bytes, const Handler &on_line) {
    while (!bytes.empty()) {
        const std::size_t nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (line_.size() + part.size() > max_line_)
            throw ProviderError("protocol_error", "stream line longer than " + std::to_string(max_line_) + " bytes");
        if (nl == std::string_view::npos) {
            line_.append(part);
            return;
        }
        bytes.remove_prefix(nl + 1);
        if (line_.empty()) {
            deliver(part, on_line);  // the whole line is in this chunk: no copy
        } else {
            line_.append(part);
            deliver(line_, on_line);
            line_.clear();
        }
    }
}

void NdjsonParser::finish(const Handler &on_line) {
    deliver(line_, on_line);
    line_.clear();
}

}  // namespace coe::net
