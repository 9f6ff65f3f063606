#include "full_tool.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "coe/error.hpp"

namespace coe::cli {

void exec_full_tool(char **argv, const std::string &command) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot find this program's own path (/proc/self/exe: " + ec.message() + ")");
    const std::string full = (self.parent_path() / "coe-full").string();
    ::execv(full.c_str(), argv);
    throw Error("'" + command + "' needs " + full +
                " (the tool with the network layer), which cannot be started: " + std::strerror(errno));
}

}  // namespace coe::cli
