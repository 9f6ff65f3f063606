// panel_messages.hpp - pieces of the panel error messages, shared by
// validate() and the JSON reader so that both word their errors alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace coe::detail {

// "responses[2].confidence", or "responses[2]" when field is null.
std::string response_path(std::size_t index, const char *field);

// The shortest text that reads back as `value` ("1.5", "-0.1", "1e+300", "inf").
std::string format_number(double value);

// `text` in double quotes, with '"', '\' and control characters escaped as in JSON.
std::string quote(std::string_view text);

}  // namespace coe::detail
