// plugin_helper.hpp - header-only C++17 helpers for plugin authors.
//
// The C ABI (coe_plugin.h) must never see a C++ exception.  Wrap the body of
// every operation in coe::sdk::guarded(): it converts exceptions into status
// codes and copies their message into the host's error buffer.  args_as<T>()
// checks that the host passed a struct at least as large as the fields this
// plugin reads.  Everything here is stateless and thread-safe.
#ifndef COE_PLUGIN_HELPER_HPP
#define COE_PLUGIN_HELPER_HPP

#include "coe/coe_plugin.h"

#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

namespace coe::sdk {

// Thrown inside a plugin to return a specific status with a message.
class status_error : public std::runtime_error {
public:
    status_error(coe_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    coe_status status() const noexcept { return status_; }

private:
    coe_status status_;
};

// Copies `message` (truncated, NUL-terminated) into the host's error buffer.
inline void write_error(const coe_call *call, const char *message) noexcept {
    if (call == nullptr || call->struct_size < sizeof(coe_call) || call->error_message == nullptr ||
        call->error_capacity == 0)
        return;
    std::size_t n = std::strlen(message);
    if (n >= call->error_capacity) n = call->error_capacity - 1;
    std::memcpy(call->error_message, message, n);
    call->error_message[n] = '\0';
}

// Runs `body` (returning coe_status) and turns any exception into a status.
template <class Body>
coe_status guarded(const coe_call *call, Body &&body) noexcept {
    try {
        return body();
    } catch (const status_error &e) {
        write_error(call, e.what());
        return e.status();
    } catch (const std::bad_alloc &) {
        write_error(call, "out of memory");
        return COE_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        write_error(call, e.what());
        return COE_ERR_INTERNAL;
    } catch (...) {
        write_error(call, "unknown exception inside plugin");
        return COE_ERR_INTERNAL;
    }
}

// Returns `args` as T after checking the host's struct_size covers T.
// Throws status_error (caught by guarded) otherwise.
template <class T>
T &args_as(void *args) {
    if (args == nullptr) throw status_error(COE_ERR_INVALID_ARGUMENT, "arguments are null");
    auto *typed = static_cast<T *>(args);
    if (typed->struct_size < sizeof(T))
        throw status_error(COE_ERR_INVALID_ARGUMENT, "argument struct_size " + std::to_string(typed->struct_size) +
                                                         " is smaller than the " + std::to_string(sizeof(T)) +
                                                         " bytes this plugin needs");
    return *typed;
}

}  // namespace coe::sdk

#endif  // COE_PLUGIN_HELPER_HPP
