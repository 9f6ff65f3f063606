// cache_folder.hpp - where the engine keeps what it may forget (probe
// verdicts, embeddings): $COE_CACHE_DIR, else $XDG_CACHE_HOME/coe, else
// $HOME/.cache/coe; empty when none of them is set.
#pragma once

#include <filesystem>

namespace coe::internal {

std::filesystem::path user_cache_folder();

}  // namespace coe::internal
