#include "coe/internal/cache_folder.hpp"

#include <cstdlib>

namespace coe::internal {

std::filesystem::path user_cache_folder() {
    if (const char *d = std::getenv("COE_CACHE_DIR"); d && *d) return d;
    if (const char *d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::filesystem::path(d) / "coe";
    if (const char *d = std::getenv("HOME"); d && *d) return std::filesystem::path(d) / ".cache" / "coe";
    return {};
}

}  // namespace coe::internal
