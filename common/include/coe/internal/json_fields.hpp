// json_fields.hpp - typed fields of a JSON document read for a config or
// request, with errors that name the field.  Internal to the coe libraries
// (not installed).
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace coe::internal {

// The string `v`; throws coe::Error "<path>: must be a string".
std::string string_field(const boost::json::value &v, const std::string &path);

// The number `v` within [lo, hi]; throws coe::Error "<path>: must be a
// number" or "<path>: <v> is outside [<lo>, <hi>]".
double number_field(const boost::json::value &v, const std::string &path, double lo, double hi);

// The number `v` within [lo, hi], for the engine's config file; throws
// coe::Error "<where> must be a number" or "<where> must be in [<lo>, <hi>]".
double bounded_number(const boost::json::value &v, const std::string &where, double lo, double hi);

}  // namespace coe::internal
