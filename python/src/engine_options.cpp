#include "engine_options.hpp"

#include <string>

#include "python_errors.hpp"

namespace py = pybind11;

namespace coe::python {

namespace {

bool is_path(py::handle value) { return py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__"); }

std::filesystem::path to_path(py::handle value, const char *what) {
    if (!is_path(value))
        throw InputProblem(std::string(what) + ": expected a path (str or os.PathLike), not " +
                           py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
    return py::module_::import("os").attr("fspath")(value).cast<std::string>();
}

// The plugin folder `cmake --install` put beside this package, found from
// where the package is now (so a moved prefix still works).
std::filesystem::path installed_plugin_folder() {
    const py::object file = py::module_::import("coe").attr("__file__");
    if (file.is_none()) return {};
    return std::filesystem::path(file.cast<std::string>()).parent_path() / COE_PYTHON_PLUGINS_FROM_PACKAGE;
}

}  // namespace

EngineOptions engine_options(py::handle backend, py::handle config, py::handle plugin_path) {
    EngineOptions o;
    if (!backend.is_none()) {
        if (!py::isinstance<py::str>(backend)) throw InputProblem("backend: expected a name such as 'avx2' or None");
        o.backend = backend.cast<std::string>();
    }
    if (!config.is_none()) o.config_file = to_path(config, "config");
    if (!plugin_path.is_none()) {
        if (is_path(plugin_path)) {
            o.plugin_paths.push_back(to_path(plugin_path, "plugin_path"));
        } else if (py::isinstance<py::list>(plugin_path) || py::isinstance<py::tuple>(plugin_path)) {
            for (py::handle p : plugin_path) o.plugin_paths.push_back(to_path(p, "plugin_path"));
        } else {
            throw InputProblem("plugin_path: expected a path or a list of paths");
        }
    }
    o.package_plugin_dir = installed_plugin_folder();
    return o;
}

}  // namespace coe::python
