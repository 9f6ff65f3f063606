// cli_options.hpp - options every `coe` subcommand understands.
#pragma once

#include <string>
#include <vector>

#include "coe/engine.hpp"

namespace coe::cli {

// Parsed command line: global engine options plus the subcommand's own
// arguments, in order.  Throws coe::Error on an option without its value.
struct CommandLine {
    std::string command;
    EngineOptions engine;
    std::vector<std::string> args;  // everything not consumed as a global option
};

CommandLine parse_command_line(int argc, char **argv);

// Each returns the process exit status.
int run_backends_command(const CommandLine &cl);
int run_analyze_command(const CommandLine &cl);

}  // namespace coe::cli
