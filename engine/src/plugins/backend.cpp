#include "backend.hpp"

#include <cstddef>
#include <cstring>

#include "coe/error.hpp"

namespace coe::detail {

Backend::Backend(const coe_plugin_descriptor *descriptor, std::shared_ptr<LibraryHandle> library)
    : descriptor_(descriptor), library_(std::move(library)) {
    if (descriptor_->thread_safety != COE_THREAD_SAFETY_REENTRANT) serial_ = std::make_unique<std::mutex>();
}

Backend::Backend(std::shared_ptr<RemotePlugin> isolated)
    : descriptor_(isolated->descriptor()), isolated_(std::move(isolated)) {}  // the worker serialises calls itself

std::vector<std::string> Backend::operation_names() const {
    std::vector<std::string> out;
    for (std::uint32_t i = 0; i < descriptor_->operation_count; ++i) {
        const coe_operation *op = descriptor_->operations[i];
        out.push_back(std::string(op->id) + "/" + std::to_string(op->revision));
    }
    return out;
}

const coe_operation *Backend::find(std::string_view op_id, std::uint32_t revision) const {
    for (std::uint32_t i = 0; i < descriptor_->operation_count; ++i) {
        const coe_operation *op = descriptor_->operations[i];
        if (op_id == op->id && op->revision == revision) return op;
    }
    return nullptr;
}

std::uint32_t host_revision(std::string_view op_id) {
    if (op_id == COE_OP_CONSENSUS) return 3;
    return op_id == COE_OP_FEATURIZE || op_id == COE_OP_SIMILARITY || op_id == COE_OP_AGGREGATE ? 2 : 1;
}

std::uint32_t Backend::revision_of(std::string_view op_id) const {
    for (std::uint32_t r = host_revision(op_id); r >= 1; --r)
        if (find(op_id, r) != nullptr) return r;
    return 0;
}

std::uint32_t Backend::flags(const coe_operation &op) {
    // never read past what the plugin's struct holds
    if (op.struct_size < offsetof(coe_operation, flags) + sizeof(op.flags)) return 0;
    return op.flags;
}

bool Backend::own_algorithm(std::string_view op_id, std::uint32_t revision) const {
    const coe_operation *op = find(op_id, revision);
    return op != nullptr && (flags(*op) & COE_OPERATION_OWN_ALGORITHM) != 0;
}

const void *Backend::extension(const char *extension_id) const {
    const coe_plugin_descriptor &d = *descriptor_;
    if (d.struct_size < offsetof(coe_plugin_descriptor, get_extension) + sizeof(d.get_extension)) return nullptr;
    if (d.get_extension == nullptr) return nullptr;
    return d.get_extension(extension_id);
}

void Backend::invoke(std::string_view op_id, std::uint32_t revision, void *args) const {
    const coe_operation *op = find(op_id, revision);
    if (op == nullptr)
        throw Error("backend '" + name() + "' does not provide " + std::string(op_id) + "/" + std::to_string(revision));
    char message[512] = {0};
    coe_call call{sizeof(coe_call), sizeof message, message};
    coe_status status;
    if (isolated_) {
        std::uint32_t index = 0;
        while (descriptor_->operations[index] != op) ++index;
        status = isolated_->call(index, args, message, sizeof message);
    } else if (serial_) {
        std::lock_guard<std::mutex> lock(*serial_);
        status = op->invoke(args, &call);
    } else {
        status = op->invoke(args, &call);
    }
    if (status == COE_OK) return;
    message[sizeof message - 1] = '\0';
    throw BackendCallError("backend '" + name() + "' failed " + std::string(op_id) + "/" + std::to_string(revision) +
                               " with status " + std::to_string(status) +
                               (message[0] ? ": " + std::string(message) : ""),
                           status);
}

}  // namespace coe::detail
