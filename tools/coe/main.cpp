// coe - the command-line face of the engine.  Parses, finds the command in
// the table (command_table.hpp), runs it.  Exit status: 0 success, 1
// failure, 2 usage error; commands add their own (3: some inputs failed).
// Built twice: coe-full runs every command; coe (COE_CLI_ANALYSIS_ONLY) runs
// the commands that need no network and hands the others to coe-full
// (full_tool.hpp).
#include <cstring>
#include <iostream>
#include <string>

#include "cli_options.hpp"
#include "coe/error.hpp"
#include "command_table.hpp"
#include "full_tool.hpp"

namespace {

bool asks_for_help(int argc, char **argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char **argv) {
    using namespace coe::cli;
    std::string who = "coe";  // "coe analyze: ..." once the command is known
    try {
        CommandLine cl = parse_command_line(argc, argv);
        const Command *command = find_command(cl.command);
        if (asks_for_help(argc, argv)) {
            std::cout << (command != nullptr ? command_help_text(*command) : usage_text());
            return 0;
        }
        if (command == nullptr) {
            std::cerr << (cl.command.empty() ? "coe: no command given\n"
                                             : "coe: unknown command '" + cl.command + "'\n")
                      << usage_text();
            return 2;
        }
        who += " " + cl.command;
        if (command->run == nullptr || (is_analysis_only_tool && needs_network(*command, cl)))
            exec_full_tool(argv, cl.command);
        return command->run(cl);
    } catch (const UsageError &e) {
        std::cerr << who << ": " << e.what() << "\n(coe --help lists the commands and options)\n";
        return 2;
    } catch (const coe::Error &e) {
        std::cerr << who << ": " << e.what() << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << who << ": unexpected error: " << e.what() << "\n";
        return 1;
    }
}
