// ndjson_parser.hpp - newline-delimited JSON, split into lines
// incrementally: lines end at \n (a trailing \r is dropped), blank lines
// are skipped.  One parser per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace coe::net {

class NdjsonParser {
public:
    using Handler = std::function<void(std::string_view line)>;
    explicit NdjsonParser(std::size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}
    // Throws ProviderError("protocol_error") on a line longer than the limit.
    void feed(std::string_view bytes, const Handler &on_line);
    // The body ended: a last line without its newline is delivered too.
    void finish(const Handler &on_line);

private:
    void deliver(const Handler &on_line);
    std::size_t max_line_;
    std::string line_;
};

}  // namespace coe::net
