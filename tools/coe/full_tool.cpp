// Only in the analysis-only `coe` (see full_tool.hpp).
#include "full_tool.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

namespace coe::cli {

bool runs_without_network(const CommandLine &cl) {
    if (cl.command == "analyze") return std::find(cl.args.begin(), cl.args.end(), "--embedder") == cl.args.end();
    return cl.command.empty() || cl.command == "backends" || cl.command == "plugin";
}

void exec_full_tool(char **argv, const std::string &command) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot find this program's own path (/proc/self/exe: " + ec.message() + ")");
    const std::string full = (self.parent_path() / "coe-full").string();
    ::execv(full.c_str(), argv);
    throw Error("'" + command + "' needs " + full + " (the tool with the network layer), which cannot be started: " +
                std::strerror(errno));
}

// analyze --embedder is handed to coe-full before the command runs, so this
// tool's analyze never embeds; the definition only says so if it were asked.
std::function<void(Panel &)> make_embed_step(const std::string &, const std::string &, const CommandLine &) {
    throw Error("--embedder runs in coe-full, the tool with the network layer");
}

}  // namespace coe::cli
