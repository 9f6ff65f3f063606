// circle_binding.hpp - the native side of coe.Circle (coe/circle.py wraps it
// with keyword defaults, asyncio and the quorum check).
#pragma once

#include <pybind11/pybind11.h>

namespace coe::python {

// Adds the classes Circle and Pending to `module` (coe._consult).
void bind_circle(pybind11::module_ &module);

}  // namespace coe::python
