#include "plugin_loader.hpp"

#include <boost/dll/shared_library.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <system_error>
#include <variant>
#include <vector>

#include "coe/cpu_features.hpp"
#include "coe/ext/device.h"
#include "descriptor_validation.hpp"
#include "elf_manifest.hpp"
#include "isolated_plugin.hpp"
#include "isolation_policy.hpp"
#include "plugin_probe.hpp"

extern "C" const coe_plugin_descriptor *coe_builtin_scalar_entry(uint16_t, uint16_t);

namespace coe::detail {

struct LibraryHandle {
    boost::dll::shared_library library;
};

namespace {

// Every library ever loaded, by file version ("path|identity").  Libraries
// stay mapped until the process exits: code of a plugin may still run on
// some thread after its engine is gone, so closing is never safe.
class LoadedLibraries {
public:
    std::shared_ptr<LibraryHandle> find(const std::string &version) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_version_.find(version);
        return it == by_version_.end() ? nullptr : it->second;
    }
    bool path_used(const std::string &path) {
        std::lock_guard<std::mutex> lock(mutex_);
        return paths_.count(path) != 0;
    }
    void add(const std::string &path, const std::string &version, std::shared_ptr<LibraryHandle> handle) {
        std::lock_guard<std::mutex> lock(mutex_);
        paths_.insert(path);
        by_version_.emplace(version, std::move(handle));
    }

private:
    std::mutex mutex_;
    std::set<std::string> paths_;
    std::map<std::string, std::shared_ptr<LibraryHandle>> by_version_;
};

LoadedLibraries &loaded_libraries() {
    static auto *libraries = new LoadedLibraries();  // never destroyed: see above
    return *libraries;
}

// dlopen hands back the object already loaded under a path even when the
// file there was replaced since, so a new version at a known path is loaded
// from a private copy; the copy is deleted once mapped (or rejected).
struct PrivateCopy {
    std::filesystem::path path;
    explicit PrivateCopy(const std::filesystem::path &file) {
        static std::atomic<unsigned> counter{0};
        std::error_code ec;
        const auto dir = std::filesystem::temp_directory_path(ec);
        path = dir / ("coe-plugin-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
                      file.filename().string());
        std::filesystem::copy_file(file, path, std::filesystem::copy_options::overwrite_existing, ec);
        if (ec) path.clear();
    }
    ~PrivateCopy() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove(path, ec);
    }
    PrivateCopy(const PrivateCopy &) = delete;
    PrivateCopy &operator=(const PrivateCopy &) = delete;
};

std::string join_features(std::uint64_t mask) {
    std::string s;
    for (const auto &n : cpu_feature_names(mask)) s += (s.empty() ? "" : " ") + n;
    return s;
}

LoadOutcome reject(LoadOutcome o, std::string reason) {
    o.info.status = BackendStatus::rejected;
    o.info.score = 0;
    o.info.reason = std::move(reason);
    return o;
}

void describe(BackendInfo &info, const coe_plugin_descriptor &d) {
    info.name = d.name;
    info.id = d.id;
    info.version = d.version;
    info.abi = std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor);
    info.required_features = d.required_cpu_features;
}

// The device the plugin names through coe.device/1, read only as far as
// the plugin's struct reaches.
std::optional<DeviceInfo> device_of(const Backend &backend) {
    const auto *d = static_cast<const coe_device_info *>(backend.extension(COE_EXT_DEVICE));
    constexpr std::size_t v1_size = offsetof(coe_device_info, memory_bytes) + sizeof(d->memory_bytes);
    if (d == nullptr || d->struct_size < v1_size) return std::nullopt;
    DeviceInfo info;
    info.type = device_type_name(d->type);
    info.name = d->name != nullptr ? d->name : "";
    info.driver = d->driver != nullptr ? d->driver : "";
    info.memory_bytes = d->memory_bytes;
    return info;
}

// Status, score and operations of a backend whose descriptor was validated.
LoadOutcome admit(LoadOutcome o, const coe_plugin_descriptor &d, std::shared_ptr<Backend> backend) {
    describe(o.info, d);
    o.backend = std::move(backend);
    o.info.operations = o.backend->operation_names();
    o.info.device = device_of(*o.backend);
    o.info.score = backend_score(d.required_cpu_features);
    if (o.info.score > 0 && is_device_backend(d.id)) {
        o.info.score = device_backend_score;
        o.info.reason = std::string(d.description != nullptr ? d.description : "a device") +
                        "; a device backend, used only when requested by name";
    }
    o.info.status = BackendStatus::available;
    return o;
}

// The file runs in a worker process: loaded there, described from there.
LoadOutcome load_isolated(LoadOutcome o, const PluginCandidate &c, const coe_plugin_manifest &m,
                          const IsolationPolicy &isolation) {
    o.info.isolation = "process";
    o.info.probe = "not probed: it runs in a worker process, where a crash or a hang fails only the call";
    if (isolation.worker().empty()) return reject(std::move(o), "cannot run isolated: " + isolation.worker_problem());
    std::shared_ptr<IsolatedPlugin> plugin;
    try {
        plugin = IsolatedPlugin::start(isolation.worker(), c.file, isolation.options().call_timeout);
    } catch (const Error &e) {
        return reject(std::move(o), std::string("cannot run isolated: ") + e.what());
    }
    const coe_plugin_descriptor &d = *plugin->descriptor();
    if (std::strcmp(d.id, m.id) != 0)
        return reject(std::move(o), "the worker loaded " + std::string(d.id) + ", the manifest says " + m.id);
    return admit(std::move(o), d, std::make_shared<Backend>(std::move(plugin)));
}

}  // namespace

void describe_manifest(BackendInfo &info, const coe_plugin_manifest &m) {
    info.name = m.name;
    info.id = m.id;
    info.version = m.version;
    info.abi = std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor);
    info.required_features = m.required_cpu_features;
}

std::string file_identity(const std::filesystem::path &file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

const char *device_type_name(std::uint32_t type) {
    switch (type) {
    case COE_DEVICE_TYPE_DISCRETE_GPU: return "discrete_gpu";
    case COE_DEVICE_TYPE_INTEGRATED_GPU: return "integrated_gpu";
    case COE_DEVICE_TYPE_VIRTUAL_GPU: return "virtual_gpu";
    case COE_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

bool is_device_backend(const char *id) { return id != nullptr && std::strcmp(id, "coe.backend.vulkan") == 0; }

int backend_score(std::uint64_t f) {
    if (f & COE_CPU_RESERVED_NEVER) return 0;
    if (f & (COE_CPU_AVX512F | COE_CPU_AVX512BW | COE_CPU_AVX512DQ | COE_CPU_AVX512CD | COE_CPU_AVX512VL)) return 400;
    if (f & (COE_CPU_AVX2 | COE_CPU_FMA)) return 300;
    if (f & (COE_CPU_AVX | COE_CPU_SSE41 | COE_CPU_SSE42 | COE_CPU_NEON)) return 200;
    return 100;
}

LoadOutcome load_plugin(const PluginCandidate &c, std::uint64_t cpu_features,
                        const std::map<std::string, std::string> &taken_ids, const PluginProber *prober,
                        void (*on_phase)(const char *), const IsolationPolicy *isolation) {
    LoadOutcome o;
    std::error_code fs_ec;
    o.info.file = std::filesystem::absolute(c.file, fs_ec).lexically_normal().string();
    o.info.source = c.source;

    if (!std::filesystem::is_regular_file(c.file, fs_ec)) return reject(std::move(o), "file not found");
    const std::string path = std::filesystem::weakly_canonical(c.file, fs_ec).string();
    const std::string version = path + "|" + file_identity(c.file);
    std::shared_ptr<LibraryHandle> handle = loaded_libraries().find(version);  // this very file, loaded before
    std::optional<PrivateCopy> copy;
    if (!handle && loaded_libraries().path_used(path)) {
        copy.emplace(c.file);  // a new version of a file whose old version is mapped
        if (copy->path.empty()) return reject(std::move(o), "cannot copy the new version of the file to load it");
    }
    const std::filesystem::path source = copy ? copy->path : c.file;  // what is read and loaded

    auto manifest_or_error = read_plugin_manifest(source);
    if (auto *why = std::get_if<std::string>(&manifest_or_error)) return reject(std::move(o), *why);
    const auto &m = std::get<coe_plugin_manifest>(manifest_or_error);
    describe_manifest(o.info, m);

    // Judged from the manifest alone: nothing of the plugin has run yet.
    if (m.abi_major != COE_ABI_MAJOR) return reject(std::move(o), abi_mismatch_reason(m.abi_major, m.abi_minor));
    if (auto it = taken_ids.find(m.id); it != taken_ids.end())
        return reject(std::move(o), "duplicate id " + std::string(m.id) + " (already provided by " + it->second + ")");
    if (const std::uint64_t missing = m.required_cpu_features & ~cpu_features)
        return reject(std::move(o), "cpu lacks " + join_features(missing) + " (not loaded)");

    if (isolation != nullptr && isolation->isolates(c)) return load_isolated(std::move(o), c, m, *isolation);
    o.info.isolation = "in_process";
    if (prober) {  // before any code of the file runs in this process
        const ProbeVerdict verdict = prober->admit(c.file, source);
        o.info.probe = verdict.note;
        if (!verdict.admitted) return reject(std::move(o), verdict.reason);
    }
    if (on_phase) on_phase("load");
    if (!handle) {
        handle = std::make_shared<LibraryHandle>();
        boost::dll::fs::error_code ec;
        handle->library.load(source, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
        if (ec) return reject(std::move(o), "cannot load: " + ec.message());
        loaded_libraries().add(path, version, handle);
    }
    if (!handle->library.has(COE_PLUGIN_ENTRY_SYMBOL))
        return reject(std::move(o), "missing entry symbol " COE_PLUGIN_ENTRY_SYMBOL);
    auto &entry =
        handle->library.get<const coe_plugin_descriptor *(std::uint16_t, std::uint16_t)>(COE_PLUGIN_ENTRY_SYMBOL);
    const coe_plugin_descriptor *d = nullptr;
    if (on_phase) on_phase("entry");
    try {
        d = entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    } catch (...) {  // a C++ plugin that let an exception escape its C entry point
        return reject(std::move(o), "entry point threw an exception");
    }
    if (d == nullptr && is_device_backend(m.id))  // its entry point refuses when it finds no device
        return reject(std::move(o), "no usable device (no Vulkan driver, or no device with a compute queue)");
    if (std::string why = validate_descriptor(d, &m); !why.empty()) return reject(std::move(o), why);

    return admit(std::move(o), *d, std::make_shared<Backend>(d, handle));
}

LoadOutcome builtin_scalar_backend() {
    LoadOutcome o;
    const coe_plugin_descriptor *d = coe_builtin_scalar_entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    describe(o.info, *d);
    o.info.file = "<built-in>";
    o.info.source = "built-in";
    o.info.isolation = "in_process";
    o.backend = std::make_shared<Backend>(d, nullptr);
    o.info.operations = o.backend->operation_names();
    o.info.score = backend_score(d->required_cpu_features);
    o.info.status = BackendStatus::available;
    return o;
}

}  // namespace coe::detail
