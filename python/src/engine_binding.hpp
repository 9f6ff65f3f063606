// engine_binding.hpp - coe.Engine: the engine's analysis for Python.
#pragma once

#include <pybind11/pybind11.h>

namespace coe::python {

// Adds the Engine class to `module` (coe._analysis).
void bind_engine(pybind11::module_ &module);

}  // namespace coe::python
