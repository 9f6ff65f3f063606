// engine_options.hpp - coe::EngineOptions from the Python constructors'
// arguments (coe.Engine and coe.Circle take the same three).
#pragma once

#include <pybind11/pybind11.h>

#include "coe/engine.hpp"

namespace coe::python {

// backend: a name ("avx2") or None (the best available, or COE_BACKEND);
// config: a JSON config file (str or os.PathLike) or None (COE_CONFIG);
// plugin_path: a plugin file or folder, or a list of them, searched first.
// The installed package also searches the plugins installed beside it.
// Throws InputProblem for an argument of the wrong type.  Needs the GIL.
EngineOptions engine_options(pybind11::handle backend, pybind11::handle config, pybind11::handle plugin_path);

}  // namespace coe::python
