#include "plugin_loader.hpp"

#include <boost/dll/shared_library.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <variant>
#include <vector>

#include "coe/cpu_features.hpp"
#include "descriptor_validation.hpp"
#include "elf_manifest.hpp"

extern "C" const coe_plugin_descriptor *coe_builtin_scalar_entry(uint16_t, uint16_t);

namespace coe::detail {

struct LibraryHandle {
    boost::dll::shared_library library;
};

namespace {

// Libraries stay mapped until the process exits: code of a plugin may still
// run on some thread after its engine is gone, so closing is never safe.
void keep_mapped(const std::shared_ptr<LibraryHandle> &handle) {
    static std::mutex mutex;
    static auto *forever = new std::vector<std::shared_ptr<LibraryHandle>>();
    std::lock_guard<std::mutex> lock(mutex);
    forever->push_back(handle);
}

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

// dlopen hands back the object already loaded under a path even when the
// file there was replaced since.  A new version at a known path is
// therefore loaded from a private copy; copies are kept (never unloaded).
class LoadPaths {
public:
    std::filesystem::path path_for(const std::filesystem::path &file) {
        std::error_code ec;
        const std::string canonical = std::filesystem::weakly_canonical(file, ec).string();
        const std::string key = canonical + "|" + file_identity(file);
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = by_version_.find(key); it != by_version_.end()) return it->second;
        if (!loaded_paths_.count(canonical)) return file;
        const auto dir = std::filesystem::temp_directory_path() / ("coe-plugins-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir, ec);
        const auto copy = dir / (file.stem().string() + "." + std::to_string(++copies_) + ".so");
        std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing, ec);
        return ec ? file : copy;
    }
    void loaded(const std::filesystem::path &file, const std::filesystem::path &from) {
        std::error_code ec;
        const std::string canonical = std::filesystem::weakly_canonical(file, ec).string();
        std::lock_guard<std::mutex> lock(mutex_);
        loaded_paths_.insert(canonical);
        by_version_[canonical + "|" + file_identity(from)] = from;
    }

private:
    std::mutex mutex_;
    std::set<std::string> loaded_paths_;
    std::map<std::string, std::filesystem::path> by_version_;
    unsigned copies_ = 0;
};

LoadPaths &load_paths() {
    static auto *paths = new LoadPaths();  // lives as long as the libraries it loaded
    return *paths;
}

}  // namespace

std::string file_identity(const std::filesystem::path &file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

int backend_score(std::uint64_t f) {
    if (f & COE_CPU_RESERVED_NEVER) return 0;
    if (f & (COE_CPU_AVX512F | COE_CPU_AVX512BW | COE_CPU_AVX512DQ | COE_CPU_AVX512CD | COE_CPU_AVX512VL))
        return 400;
    if (f & (COE_CPU_AVX2 | COE_CPU_FMA)) return 300;
    if (f & (COE_CPU_AVX | COE_CPU_SSE41 | COE_CPU_SSE42 | COE_CPU_NEON)) return 200;
    return 100;
}

LoadOutcome load_plugin(const PluginCandidate &c, std::uint64_t cpu_features,
                        const std::map<std::string, std::string> &taken_ids) {
    LoadOutcome o;
    std::error_code fs_ec;
    o.info.file = std::filesystem::absolute(c.file, fs_ec).lexically_normal().string();
    o.info.source = c.source;

    if (!std::filesystem::is_regular_file(c.file, fs_ec)) return reject(std::move(o), "file not found");
    // what is read and loaded: the file, or a copy if a former version of it is loaded
    const std::filesystem::path source = load_paths().path_for(c.file);
    auto manifest_or_error = read_plugin_manifest(source);
    if (auto *why = std::get_if<std::string>(&manifest_or_error)) return reject(std::move(o), *why);
    const auto &m = std::get<coe_plugin_manifest>(manifest_or_error);
    o.info.name = m.name;
    o.info.id = m.id;
    o.info.version = m.version;
    o.info.abi = std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor);
    o.info.required_features = m.required_cpu_features;

    // Judged from the manifest alone: nothing of the plugin has run yet.
    if (m.abi_major != COE_ABI_MAJOR) return reject(std::move(o), abi_mismatch_reason(m.abi_major, m.abi_minor));
    if (auto it = taken_ids.find(m.id); it != taken_ids.end())
        return reject(std::move(o), "duplicate id " + std::string(m.id) + " (already provided by " + it->second + ")");
    if (const std::uint64_t missing = m.required_cpu_features & ~cpu_features)
        return reject(std::move(o), "cpu lacks " + join_features(missing) + " (not loaded)");

    auto handle = std::make_shared<LibraryHandle>();
    boost::dll::fs::error_code ec;
    handle->library.load(source, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec) return reject(std::move(o), "cannot load: " + ec.message());
    keep_mapped(handle);
    load_paths().loaded(c.file, source);
    if (!handle->library.has(COE_PLUGIN_ENTRY_SYMBOL))
        return reject(std::move(o), "missing entry symbol " COE_PLUGIN_ENTRY_SYMBOL);
    auto &entry = handle->library.get<const coe_plugin_descriptor *(std::uint16_t, std::uint16_t)>(
        COE_PLUGIN_ENTRY_SYMBOL);
    const coe_plugin_descriptor *d = nullptr;
    try {
        d = entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    } catch (...) {  // a C++ plugin that let an exception escape its C entry point
        return reject(std::move(o), "entry point threw an exception");
    }
    if (std::string why = validate_descriptor(d, &m); !why.empty()) return reject(std::move(o), why);

    describe(o.info, *d);
    o.backend = std::make_shared<Backend>(d, handle);
    o.info.operations = o.backend->operation_names();
    o.info.score = backend_score(d->required_cpu_features);
    o.info.status = BackendStatus::available;
    return o;
}

LoadOutcome builtin_scalar_backend() {
    LoadOutcome o;
    const coe_plugin_descriptor *d = coe_builtin_scalar_entry(COE_ABI_MAJOR, COE_ABI_MINOR);
    describe(o.info, *d);
    o.info.file = "<built-in>";
    o.info.source = "built-in";
    o.backend = std::make_shared<Backend>(d, nullptr);
    o.info.operations = o.backend->operation_names();
    o.info.score = backend_score(d->required_cpu_features);
    o.info.status = BackendStatus::available;
    return o;
}

}  // namespace coe::detail
