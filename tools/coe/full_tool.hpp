// full_tool.hpp - `coe` is built twice: `coe`, the analysis commands
// (analyze, backends, plugin) without the network layer, and `coe-full`,
// every command, with libcurl, TLS and NATS linked in.  Loading those
// libraries costs a start-up of ~10 ms instead of ~2 ms, so `coe` runs its
// own commands and hands every other one (and `analyze --embedder`) to
// `coe-full` beside it, by executing it in its place: the same process id,
// arguments, environment, open files and exit status.
#pragma once

#include "cli_options.hpp"

namespace coe::cli {

// Whether the analysis-only `coe` runs `cl` itself.
bool runs_without_network(const CommandLine &cl);

// Replaces this process with coe-full (from the folder of this executable),
// given `argv` unchanged.  Returns only on failure: throws coe::Error naming
// the path it tried and why.
[[noreturn]] void exec_full_tool(char **argv, const std::string &command);

}  // namespace coe::cli
