// full_tool.hpp - `coe` is built twice: `coe`, the commands that need no
// network (analyze, backends, plugin), and `coe-full`, every command, with
// libcurl, TLS and NATS linked in.  Loading those libraries costs a start-up
// of ~10 ms instead of ~2 ms, so `coe` runs its own commands and hands every
// other one (and `analyze --embedder`; see the command table) to `coe-full`
// beside it, by executing it in its place: the same process id, arguments,
// environment, open files and exit status.
#pragma once

#include <string>

namespace coe::cli {

// True in the analysis-only `coe`, false in `coe-full`.
extern const bool is_analysis_only_tool;

// Replaces this process with coe-full (from the folder of this executable),
// given `argv` unchanged.  Returns only on failure: throws coe::Error naming
// the path it tried and why.
[[noreturn]] void exec_full_tool(char **argv, const std::string &command);

}  // namespace coe::cli
