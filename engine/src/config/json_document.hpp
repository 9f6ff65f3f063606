// json_document.hpp - parses JSON text with errors that name line and column.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace coe::detail {

// Parses one JSON document.  On failure throws coe::Error
// "<where>:<line>:<column>: invalid JSON: <what>", where line and column are
// counted from 1 within `text` (line_offset is added to the line).
boost::json::value parse_json(std::string_view text, const std::string &where, std::size_t line_offset = 0);

}  // namespace coe::detail
