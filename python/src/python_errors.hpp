// python_errors.hpp - the engine's errors as the package's Python exception
// classes (coe/errors.py).
//
// A binding throws ConfigProblem or InputProblem (both coe::Error) to say
// which Python class the engine's message belongs to; the translator each
// extension module registers at import raises coe.ConfigError,
// coe.InputError, or coe.Error for any other coe::Error, with the message
// unchanged.  Thread-safe: the classes are looked up under the GIL when an
// error is raised.
#pragma once

#include "coe/error.hpp"

namespace coe::python {

// Raised as coe.ConfigError: an engine or circle that cannot be built from
// the options, config file or experts given.
class ConfigProblem : public Error {
public:
    using Error::Error;
};

// Raised as coe.InputError (also a ValueError): a panel, question or option
// the engine refuses.
class InputProblem : public Error {
public:
    using Error::Error;
};

// Registers the translation for the module being imported.  Call once from
// PYBIND11_MODULE.
void register_error_translation();

}  // namespace coe::python
