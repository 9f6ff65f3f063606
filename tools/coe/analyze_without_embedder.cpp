// Only in the analysis-only `coe` (see full_tool.hpp): analyze --embedder
// is handed to coe-full before the command runs, so this tool's analyze
// never embeds; the definition only says so if it were asked.
#include "cli_options.hpp"

namespace coe::cli {

std::function<void(Panel &)> make_embed_step(const std::string &, const std::string &, const CommandLine &) {
    throw Error("--embedder runs in coe-full, the tool with the network layer");
}

}  // namespace coe::cli
