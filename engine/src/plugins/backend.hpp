// backend.hpp - a validated plugin (or the built-in scalar backend) and typed
// calls into its operations.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "coe/coe_plugin.h"
#include "coe/error.hpp"

namespace coe::detail {

// Keeps a loaded library mapped.  Handles are never closed during the
// process lifetime (docs/architecture.md: never unload a plugin that may still run).
struct LibraryHandle;

// A plugin whose calls run outside this process (isolated_plugin.hpp: in a
// worker process).  An interface, so that a build without processes (the
// WebAssembly engine) links the backends without the worker's code.
class RemotePlugin {
public:
    virtual ~RemotePlugin() = default;
    // The plugin's descriptor, owned by the RemotePlugin.
    virtual const coe_plugin_descriptor *descriptor() const = 0;
    // Runs operation `op_index` (descriptor order) on `args`; the message goes
    // to `message` (NUL-terminated, truncated to `capacity`).  Thread-safe.
    virtual coe_status call(std::uint32_t op_index, void *args, char *message, std::size_t capacity) = 0;
    // How many times the remote side was started again.
    virtual std::uint64_t restarts() const = 0;
};

// A failed operation: the plugin's status and message.  INVALID_ARGUMENT
// usually means the caller's input was bad, anything else the backend.
class BackendCallError : public Error {
public:
    BackendCallError(const std::string &message, coe_status status) : Error(message), status_(status) {}
    coe_status status() const { return status_; }

private:
    coe_status status_;
};

// The newest revision of an operation this host speaks: 2 for
// coe.featurize, coe.similarity and coe.consensus, 1 for the others.  Older revisions are spoken too.
std::uint32_t host_revision(std::string_view op_id);

// Immutable after construction; invoke() is thread-safe (it serialises calls
// itself when the plugin is not re-entrant).  A backend either calls a
// library loaded in this process or, isolated, a plugin in a worker process
// (plugins/isolated_plugin.hpp); the rest of the engine cannot tell them apart.
class Backend {
public:
    Backend(const coe_plugin_descriptor *descriptor, std::shared_ptr<LibraryHandle> library);
    explicit Backend(std::shared_ptr<RemotePlugin> isolated);

    const coe_plugin_descriptor &descriptor() const { return *descriptor_; }
    std::string name() const { return descriptor_->name; }
    std::string id() const { return descriptor_->id; }
    // "coe.featurize/1", ... in descriptor order.
    std::vector<std::string> operation_names() const;
    // The operation with this id and revision, or nullptr.
    const coe_operation *find(std::string_view op_id, std::uint32_t revision) const;
    // The newest revision of `op_id` that this backend and the host both
    // speak, or 0 when the backend does not provide the operation.
    std::uint32_t revision_of(std::string_view op_id) const;
    // COE_OPERATION_* flags of an operation (0 for a 1.0 plugin, whose
    // operation structs end before the field).
    static std::uint32_t flags(const coe_operation &op);
    // True if the plugin computes `op_id` with an algorithm of its own.
    bool own_algorithm(std::string_view op_id, std::uint32_t revision) const;

    // Calls the operation; throws BackendCallError naming backend,
    // operation, status and the plugin's message on any non-OK status.
    void invoke(std::string_view op_id, std::uint32_t revision, void *args) const;

    // The plugin's extension `extension_id` (coe/ext/), or nullptr: a
    // descriptor of ABI 1.4 or older (struct_size ends before
    // get_extension), no get_extension, or the plugin does not provide it.
    const void *extension(const char *extension_id) const;

    // The worker of an isolated backend, nullptr for one in this process.
    const RemotePlugin *isolated() const { return isolated_.get(); }

private:
    const coe_plugin_descriptor *descriptor_;
    std::shared_ptr<LibraryHandle> library_;
    std::unique_ptr<std::mutex> serial_;  // set when the plugin is not re-entrant
    std::shared_ptr<RemotePlugin> isolated_;
};

}  // namespace coe::detail
