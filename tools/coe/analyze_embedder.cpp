// The --embedder step of `coe analyze` (see analyze_command.cpp): it calls an
// embedding service, so it lives with the network commands in coe-full.
#include <functional>
#include <memory>
#include <optional>

#include "cli_options.hpp"
#include "coe/embedder.hpp"
#include "consult_cli.hpp"

namespace coe::cli {

std::function<void(Panel &)> make_embed_step(const std::string &embedder, const std::string &experts_file,
                                             const CommandLine &cl) {
    const std::optional<ExpertsConfig> experts = find_experts(experts_file, cl);
    if (!experts || !experts->embedder)
        throw UsageError("--embedder " + embedder +
                         ": no embedder is configured (an \"embedder\" object in "
                         "--experts FILE or the config file)");
    if (experts->embedder->name != embedder)
        throw UsageError("--embedder " + embedder + ": the configured embedder is '" + experts->embedder->name + "'");
    auto shared = std::make_shared<Embedder>(*experts->embedder);
    return [shared](Panel &panel) { shared->embed_panel(panel); };
}

}  // namespace coe::cli
