#include "json_document.hpp"

#include <boost/json/stream_parser.hpp>

#include "coe/error.hpp"

namespace coe::detail {

boost::json::value parse_json(std::string_view text, const std::string &where, std::size_t line_offset) {
    boost::json::stream_parser parser;
    boost::json::error_code ec;
    std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) {
        // write_some stops after a complete value: anything left must be blank
        for (std::size_t i = consumed; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
                ec = boost::json::make_error_code(boost::json::error::extra_data);
                consumed = i;
                break;
            }
    }
    if (!ec) parser.finish(ec);
    if (ec) {
        std::size_t line = 1 + line_offset, column = 1;
        for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw Error(where + ":" + std::to_string(line) + ":" + std::to_string(column) +
                    ": invalid JSON: " + ec.message());
    }
    return parser.release();
}

}  // namespace coe::detail
