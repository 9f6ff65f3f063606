#include "descriptor_validation.hpp"

#include <cstddef>
#include <cstring>
#include <set>
#include <utility>

namespace coe::detail {
namespace {

constexpr std::size_t descriptor_v1_size =
    offsetof(coe_plugin_descriptor, operations) + sizeof(coe_plugin_descriptor::operations);
constexpr std::size_t operation_v1_size = offsetof(coe_operation, invoke) + sizeof(coe_operation::invoke);
constexpr std::uint32_t max_struct_size = 1u << 16;  // anything larger is garbage, not a future minor
constexpr std::uint32_t max_operations = 1024;

bool valid_text(const char *s, std::size_t max_len) {
    if (s == nullptr || s[0] == '\0') return false;
    return std::strlen(s) < max_len;
}

}  // namespace

std::string abi_mismatch_reason(unsigned major, unsigned minor) {
    const char *rel = major > COE_ABI_MAJOR ? " > " : " < ";
    return "abi " + std::to_string(major) + "." + std::to_string(minor) + rel + "host " +
           std::to_string(COE_ABI_MAJOR) + "." + std::to_string(COE_ABI_MINOR);
}

std::string validate_descriptor(const coe_plugin_descriptor *d, const coe_plugin_manifest *m) {
    if (d == nullptr) return "entry point returned no descriptor (the plugin refused this host)";
    if (d->struct_size < descriptor_v1_size || d->struct_size > max_struct_size)
        return "malformed descriptor: struct_size " + std::to_string(d->struct_size) + " (ABI 1.0 needs at least " +
               std::to_string(descriptor_v1_size) + ")";
    if (d->abi_major != COE_ABI_MAJOR) return abi_mismatch_reason(d->abi_major, d->abi_minor);
    if (!valid_text(d->id, sizeof(coe_plugin_manifest::id)) ||
        !valid_text(d->name, sizeof(coe_plugin_manifest::name)) ||
        !valid_text(d->version, sizeof(coe_plugin_manifest::version)))
        return "malformed descriptor: id, name or version is missing or too long";
    if (m != nullptr) {
        if (std::strcmp(d->id, m->id) != 0 || std::strcmp(d->name, m->name) != 0)
            return "malformed descriptor: id/name '" + std::string(d->id) + "'/'" + d->name +
                   "' differ from the manifest's '" + m->id + "'/'" + m->name + "'";
        if (d->required_cpu_features != m->required_cpu_features)
            return "malformed descriptor: required CPU features differ from the manifest's";
        if (d->abi_major != m->abi_major) return "malformed descriptor: ABI major differs from the manifest's";
    }
    if (d->thread_safety != COE_THREAD_SAFETY_SERIALIZED && d->thread_safety != COE_THREAD_SAFETY_REENTRANT)
        return "malformed descriptor: unknown thread_safety " + std::to_string(d->thread_safety);
    if (d->operation_count == 0 || d->operation_count > max_operations || d->operations == nullptr)
        return "malformed descriptor: operation table is empty or missing";
    std::set<std::pair<std::string, std::uint32_t>> seen;
    for (std::uint32_t i = 0; i < d->operation_count; ++i) {
        const coe_operation *op = d->operations[i];
        const std::string where = "malformed descriptor: operation " + std::to_string(i);
        if (op == nullptr) return where + " is null";
        if (op->struct_size < operation_v1_size || op->struct_size > max_struct_size)
            return where + " has struct_size " + std::to_string(op->struct_size);
        if (!valid_text(op->id, 128) || op->invoke == nullptr) return where + " has no id or no function";
        if (op->struct_size >= offsetof(coe_operation, reserved0) + sizeof(op->reserved0) && op->reserved0 != 0)
            return where + " has a non-zero reserved field";
        if (!seen.emplace(op->id, op->revision).second)
            return where + " repeats " + std::string(op->id) + "/" + std::to_string(op->revision);
    }
    return {};
}

}  // namespace coe::detail
