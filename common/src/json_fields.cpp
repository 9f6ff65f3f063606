#include "coe/internal/json_fields.hpp"

#include <sstream>

#include "coe/error.hpp"

namespace coe::internal {

std::string string_field(const boost::json::value &v, const std::string &path) {
    if (!v.is_string()) throw Error(path + ": must be a string");
    return std::string(v.get_string());
}

double number_field(const boost::json::value &v, const std::string &path, double lo, double hi) {
    if (!v.is_number()) throw Error(path + ": must be a number");
    const double d = v.to_number<double>();
    if (!(d >= lo && d <= hi)) {
        std::ostringstream m;
        m << path << ": " << d << " is outside [" << lo << ", " << hi << "]";
        throw Error(m.str());
    }
    return d;
}

double bounded_number(const boost::json::value &v, const std::string &where, double lo, double hi) {
    if (!v.is_number()) throw Error(where + " must be a number");
    const double d = v.to_number<double>();
    if (!(d >= lo && d <= hi)) {
        std::ostringstream m;
        m << where << " must be in [" << lo << ", " << hi << "]";
        throw Error(m.str());
    }
    return d;
}

}  // namespace coe::internal
