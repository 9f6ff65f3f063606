#include "python_errors.hpp"

#include <exception>

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace coe::python {

namespace {

void raise(const char *class_name, const char *message) {
    const py::object cls = py::module_::import("coe.errors").attr(class_name);
    PyErr_SetString(cls.ptr(), message);
}

}  // namespace

void register_error_translation() {
    py::register_exception_translator([](std::exception_ptr p) {
        if (!p) return;
        try {
            std::rethrow_exception(p);
        } catch (const ConfigProblem &e) {
            raise("ConfigError", e.what());
        } catch (const InputProblem &e) {
            raise("InputError", e.what());
        } catch (const Error &e) {
            raise("Error", e.what());
        }
    });
}

}  // namespace coe::python
