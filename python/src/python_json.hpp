// python_json.hpp - between Python objects and the engine's JSON text.
//
// Reports travel as the engine's own JSON text (coe/report_format.hpp,
// coe/consult.hpp) and become Python objects through Python's json module,
// so a dict from the module equals json.loads of the `coe` tool's output.
// Every function needs the GIL.
#pragma once

#include <string>

#include <pybind11/pybind11.h>

namespace coe::python {

// json.loads(text).
pybind11::object from_json(const std::string &text);

// The JSON text of `value`: a str (or bytes) is taken as JSON text already;
// anything else is written with json.dumps.  Throws InputProblem naming
// `what` when it is neither (e.g. a set, or a dict holding one).
std::string json_text_of(pybind11::handle value, const std::string &what);

}  // namespace coe::python
