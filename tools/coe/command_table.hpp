// command_table.hpp - every `coe` command in one table: its name, what it
// does in a line, its options, whether it needs the network layer, and the
// function that runs it.  The usage text and the coe / coe-full dispatch
// both come from this table.
#pragma once

#include <string>

#include "cli_options.hpp"

namespace coe::cli {

struct Command {
    const char *name;
    const char *summary;   // one line, for `coe --help`
    const char *synopsis;  // the command's arguments and options
    const char *details;   // what `coe COMMAND --help` adds below the synopsis
    // Needs libcurl, TLS or NATS: the analysis-only `coe` hands it to coe-full.
    bool needs_network;
    // An option that makes an otherwise local command need the network
    // (analyze --embedder); nullptr when there is none.
    const char *network_option;
    // Runs the command and returns the exit status; nullptr in the
    // analysis-only `coe` for commands that need the network.
    int (*run)(const CommandLine &cl);
};

// The table, in the order the usage text lists it.
const Command *commands_begin();
const Command *commands_end();

// The command called `name`, or nullptr.
const Command *find_command(const std::string &name);

// Whether running `cl` needs the network layer.
bool needs_network(const Command &command, const CommandLine &cl);

// `coe --help`: every command in a line, then the global options.
std::string usage_text();
// `coe COMMAND --help`: its synopsis and details, then the global options.
std::string command_help_text(const Command &command);

}  // namespace coe::cli
