#include "coe/internal/shortest_double.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include <boost/json/detail/ryu/ryu.hpp>

namespace coe::internal {

char *write_shortest(double x, char *out) {
#if defined(__cpp_lib_to_chars)
    return std::to_chars(out, out + 32, x).ptr;
#else
    return write_shortest_ryu(x, out);
#endif
}

char *write_shortest_ryu(double x, char *out) {
    if (!std::isfinite(x)) {  // as std::to_chars writes them
        const char *name = std::isnan(x) ? (std::signbit(x) ? "-nan" : "nan") : (x < 0 ? "-inf" : "inf");
        const std::size_t length = std::strlen(name);
        std::memcpy(out, name, length);
        return out + length;
    }
    // Ryu writes the shortest digits as "[-]D[.DDD]E[-]X", value D.DDD * 10^X
    char ryu[32];
    const int n = boost::json::detail::ryu::d2s_buffered_n(x, ryu);
    const std::string text(ryu, static_cast<std::size_t>(n));
    const bool negative = text[0] == '-';
    const std::size_t e_at = text.find('E');
    std::string digits;
    for (std::size_t i = negative ? 1 : 0; i < e_at; ++i)
        if (text[i] != '.') digits += text[i];
    const int exponent = std::stoi(text.substr(e_at + 1));
    const int k = static_cast<int>(digits.size());

    // printf's %e with the digits' precision: exponent signed, two digits at least
    std::string scientific = digits.substr(0, 1);
    if (k > 1) scientific += "." + digits.substr(1);
    const int magnitude = exponent < 0 ? -exponent : exponent;
    scientific += std::string(exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);

    // printf's %f with as many decimals as the digits need
    std::string fixed;
    if (exponent >= k - 1) fixed = digits + std::string(static_cast<std::size_t>(exponent - (k - 1)), '0');
    else if (exponent >= 0)
        fixed = digits.substr(0, static_cast<std::size_t>(exponent + 1)) + "." +
                digits.substr(static_cast<std::size_t>(exponent + 1));
    else fixed = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;

    const std::string &shortest = fixed.size() <= scientific.size() ? fixed : scientific;
    if (negative) *out++ = '-';
    std::memcpy(out, shortest.data(), shortest.size());
    return out + shortest.size();
}

}  // namespace coe::internal
