#include "coe/internal/shortest_double.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include <boost/json/detail/ryu/ryu.hpp>

namespace coe::internal {

char *write_micro_decimal(double x, char *out) {
    const double scaled = x * 1e6;
    if (!(std::fabs(scaled) < 1e15)) return nullptr;  // NaN too
    // the nearest whole number (a wrong one fails the check below)
    const auto k = static_cast<std::int64_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    if (k == 0 || static_cast<double>(k) / 1e6 != x) return nullptr;
    // x is the double nearest to k * 10^-6, a decimal of at most 15
    // significant digits: those digits, trimmed, are its shortest form
    auto m = static_cast<std::uint64_t>(k < 0 ? -k : k);
    int exponent = -6;  // x = m * 10^exponent
    while (m % 10 == 0) {
        m /= 10;
        ++exponent;
    }
    static constexpr char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char reversed[20];  // two digits per division, lowest first
    int n = 0;
    for (; m >= 100; m /= 100) {
        const auto low = static_cast<unsigned>(m % 100);
        reversed[n++] = pairs[2 * low + 1];
        reversed[n++] = pairs[2 * low];
    }
    if (m >= 10) {
        reversed[n++] = pairs[2 * m + 1];
        reversed[n++] = pairs[2 * m];
    } else {
        reversed[n++] = static_cast<char>('0' + m);
    }
    char digits[20];
    for (int i = 0; i < n; ++i) digits[i] = reversed[n - 1 - i];
    if (k < 0) *out++ = '-';
    // printf's %e with the digits' precision, against %f with as many
    // decimals as they need: the shorter, %f on a tie
    const int scientific_exponent = n - 1 + exponent;
    const int magnitude = scientific_exponent < 0 ? -scientific_exponent : scientific_exponent;
    const int scientific_length = n + (n > 1 ? 1 : 0) + 2 + (magnitude < 100 ? 2 : 3);
    const int fixed_length = exponent >= 0 ? n + exponent : (n > -exponent ? n + 1 : 2 + (-exponent - n) + n);
    if (fixed_length <= scientific_length) {
        if (exponent >= 0) {
            std::memcpy(out, digits, static_cast<std::size_t>(n));
            std::memset(out + n, '0', static_cast<std::size_t>(exponent));
            return out + n + exponent;
        }
        const int whole = n + exponent;  // digits before the point
        if (whole > 0) {
            std::memcpy(out, digits, static_cast<std::size_t>(whole));
            out[whole] = '.';
            std::memcpy(out + whole + 1, digits + whole, static_cast<std::size_t>(n - whole));
            return out + n + 1;
        }
        out[0] = '0';
        out[1] = '.';
        std::memset(out + 2, '0', static_cast<std::size_t>(-whole));
        std::memcpy(out + 2 - whole, digits, static_cast<std::size_t>(n));
        return out + 2 - whole + n;
    }
    *out++ = digits[0];
    if (n > 1) {
        *out++ = '.';
        std::memcpy(out, digits + 1, static_cast<std::size_t>(n - 1));
        out += n - 1;
    }
    *out++ = 'e';
    *out++ = scientific_exponent < 0 ? '-' : '+';
    if (magnitude >= 100) *out++ = static_cast<char>('0' + magnitude / 100);
    *out++ = static_cast<char>('0' + magnitude / 10 % 10);
    *out++ = static_cast<char>('0' + magnitude % 10);
    return out;
}

char *write_shortest(double x, char *out) {
    if (char *end = write_micro_decimal(x, out)) return end;
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
