// breaker_config_json.hpp - a BreakerConfig read from JSON (the engine's
// config file and the experts file).  Internal to the coe libraries.
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "coe/breaker_config.hpp"

namespace coe::internal {

// A BreakerConfig object (the field names of coe/breaker_config.hpp; "mode"
// is one of normal, disabled, forced_open, metrics_only) applied onto
// `defaults`; throws coe::Error "<where>.<field> ..." on a bad field.
BreakerConfig read_breaker_config(const boost::json::value &v, const std::string &where, BreakerConfig defaults);

}  // namespace coe::internal
