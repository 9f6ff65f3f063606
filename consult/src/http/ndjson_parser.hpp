// ndjson_parser.hpp - newline-delimited JSON, split into lines
// incrementally: lines end at \n (a trailing \r is dropped), blank lines
// are skipped; the JSON itself is the caller's to parse.  Bytes may be
// split anywhere.  Ownership: a line passed to the handler is valid during
// the call only.  One parser per stream; not thread-safe.  Errors: a line
// longer than the limit throws ProviderError("protocol_error"); after a
// throw (the parser's or the handler's) the parser is not to be fed again.
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
    void feed(std::string_view bytes, const Handler &on_line);
    // The body ended: a last line without its newline is delivered too.
    void finish(const Handler &on_line);

private:
    std::size_t max_line_;
    std::string line_;  // an unfinished line
};

}  // namespace coe::net
