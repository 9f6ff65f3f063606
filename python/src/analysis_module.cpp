// coe._analysis: the engine's analysis.  Links the analysis library only
// (no network library), so a host that only analyses never loads libcurl.
#include <pybind11/pybind11.h>

#include "engine_binding.hpp"
#include "python_errors.hpp"

PYBIND11_MODULE(_analysis, module) {
    module.doc() = "The Circle of Experts engine's analysis (use it through the coe package).";
    coe::python::register_error_translation();
    coe::python::bind_engine(module);
}
