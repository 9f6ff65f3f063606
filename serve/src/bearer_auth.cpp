#include "bearer_auth.hpp"

namespace coe::serve {
namespace {

// Compares every byte of the longer of the two, whatever the contents.
bool equal_in_constant_time(std::string_view a, std::string_view b) {
    const std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

}  // namespace

bool BearerAuth::allows(std::string_view header) const {
    if (tokens_.empty()) return true;
    constexpr std::string_view scheme = "Bearer ";
    if (header.size() <= scheme.size() || header.substr(0, scheme.size()) != scheme) return false;
    const std::string_view presented = header.substr(scheme.size());
    bool ok = false;
    for (const auto &t : tokens_) ok = equal_in_constant_time(presented, t) || ok;  // every token, always
    return ok;
}

}  // namespace coe::serve
