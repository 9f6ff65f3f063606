// package_location.hpp - where the running engine comes from: the folder of
// the binary its code lives in, and whether that binary sits in the build
// tree it was built in.  Plugin discovery and the word-vector file's search
// path both decide from it between the build tree and the installed package.
#pragma once

#include <filesystem>

namespace coe::detail {

// The folder of the engine's code: the shared library it is in, or the
// program it is linked into; empty when it cannot be told.
std::filesystem::path engine_binary_folder();

// Whether `binary_folder` (engine_binary_folder()) lies inside the build tree
// this engine was built in (COE_BUILD_TREE_ROOT); false for an installed
// engine, or when the build tree is unknown.
bool runs_from_build_tree(const std::filesystem::path &binary_folder);

}  // namespace coe::detail
