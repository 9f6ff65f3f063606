#include "python_json.hpp"

#include "python_errors.hpp"

namespace py = pybind11;

namespace coe::python {

py::object from_json(const std::string &text) { return py::module_::import("json").attr("loads")(py::str(text)); }

std::string json_text_of(py::handle value, const std::string &what) {
    if (py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value)) return value.cast<std::string>();
    try {
        const py::object text = py::module_::import("json").attr("dumps")(value, py::arg("ensure_ascii") = false,
                                                                          py::arg("allow_nan") = false);
        return text.cast<std::string>();
    } catch (py::error_already_set &e) {
        if (!e.matches(PyExc_TypeError) && !e.matches(PyExc_ValueError)) throw;
        throw InputProblem(what + ": not JSON: " + py::str(e.value()).cast<std::string>());
    }
}

}  // namespace coe::python
