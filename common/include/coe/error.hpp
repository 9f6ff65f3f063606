// error.hpp - the one exception type the public API throws.
#pragma once

#include <stdexcept>
#include <string>

namespace coe {

// Thrown by the engine for every failure a caller can act on: bad
// configuration, a backend that cannot be used, an operation that failed.
// what() names the thing at fault (file, field, backend, operation).
class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message) : std::runtime_error(message) {}
};

}  // namespace coe
