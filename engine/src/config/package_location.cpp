#include "config/package_location.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <string>
#include <system_error>

namespace coe::detail {

std::filesystem::path engine_binary_folder() {
    boost::dll::fs::error_code ec;
    auto where = boost::dll::symbol_location(engine_binary_folder, ec);
    // For code linked into the program, dladdr may report argv[0] as typed
    // (a relative path); the kernel's /proc/self/exe is the reliable answer.
    if (!ec && !where.is_absolute()) where = boost::dll::program_location(ec);
    if (ec) return {};
    return std::filesystem::weakly_canonical(where, ec).parent_path();
}

bool runs_from_build_tree([[maybe_unused]] const std::filesystem::path &binary_folder) {
#ifdef COE_BUILD_TREE_ROOT
    if (binary_folder.empty()) return false;
    std::error_code ec;
    const std::string root = std::filesystem::weakly_canonical(COE_BUILD_TREE_ROOT, ec).string() + "/";
    return !ec && (binary_folder.string() + "/").rfind(root, 0) == 0;
#else
    return false;
#endif
}

}  // namespace coe::detail
