// json_text.hpp - JSON text the way people read it: numbers in their
// shortest round-trip form (0.0847, 1, 336491; 1e-07 only where that is
// shorter), never Boost.JSON's 8.47E-2 / 1E0.  Used for every report,
// event and metric document the engine, the consultation and the server
// write.  Non-finite doubles become null.  Stateless and thread-safe; throws
// only std::bad_alloc.  Needs the Boost.JSON headers (Boost 1.81).
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace coe {

// `v` as compact JSON text (no whitespace), keys in their stored order.
std::string json_text(const boost::json::value &v);

// Appends `v` as compact JSON text to `out`.
void append_json(std::string &out, const boost::json::value &v);

}  // namespace coe
