// strings.hpp - small text helpers the libraries share.  Internal to the
// coe libraries (not installed).  No allocation: views into the argument.
#pragma once

#include <string_view>

namespace coe::internal {

// ASCII whitespace: space, \t, \n, \v, \f, \r.
inline constexpr std::string_view ascii_space = " \t\n\v\f\r";

// `s` without the leading bytes found in `front` and the trailing bytes
// found in `back`.
inline std::string_view trim(std::string_view s, std::string_view front, std::string_view back) {
    const std::size_t first = s.find_first_not_of(front);
    if (first == std::string_view::npos) return s.substr(s.size());
    s.remove_prefix(first);
    return s.substr(0, s.find_last_not_of(back) + 1);
}

// `s` without leading and trailing ASCII whitespace.
inline std::string_view trim(std::string_view s) { return trim(s, ascii_space, ascii_space); }

}  // namespace coe::internal
