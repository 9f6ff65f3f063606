#include "coe/internal/shortest_double.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
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

namespace {

// The decimal digits of integer-valued `x` >= 0, exactly: std::to_chars
// writes an integer in fixed notation with all its digits (12345678901234567168,
// not the shortest 12345678901234567000).
std::string exact_integer(double x) {
    int binary_exponent = 0;
    const double fraction = std::frexp(x, &binary_exponent);  // x = fraction * 2^binary_exponent
    auto mantissa = static_cast<std::uint64_t>(std::ldexp(fraction, 53));
    int shift = binary_exponent - 53;
    if (shift <= 0) return std::to_string(mantissa >> -shift);
    std::string digits = std::to_string(mantissa);  // most significant first
    for (; shift > 0; --shift) {                    // double it, digit by digit
        int carry = 0;
        for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
            const int d = (*it - '0') * 2 + carry;
            *it = static_cast<char>('0' + d % 10);
            carry = d / 10;
        }
        if (carry) digits.insert(digits.begin(), static_cast<char>('0' + carry));
    }
    return digits;
}

}  // namespace

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

    if (fixed.size() <= scientific.size() && exponent >= k - 1) fixed = exact_integer(negative ? -x : x);
    const std::string &shortest = fixed.size() <= scientific.size() ? fixed : scientific;
    if (negative) *out++ = '-';
    std::memcpy(out, shortest.data(), shortest.size());
    return out + shortest.size();
}

}  // namespace coe::internal
