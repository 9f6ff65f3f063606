// coe._consult: the circle of experts (experts over HTTP).  Links the
// consultation library (libcurl, TLS); coe/circle.py imports it only when a
// Circle is made, so `import coe` alone never loads it.
#include <pybind11/pybind11.h>

#include "circle_binding.hpp"
#include "python_errors.hpp"

PYBIND11_MODULE(_consult, module) {
    module.doc() = "The Circle of Experts consultation (use it through coe.Circle).";
    coe::python::register_error_translation();
    coe::python::bind_circle(module);
}
