// cli_options.hpp - options every `coe` subcommand understands, and the
// small parsers the subcommands share.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coe/engine.hpp"

namespace coe::cli {

// A mistake in the command line itself: exit status 2, with the usage text.
class UsageError : public Error {
public:
    using Error::Error;
};

// Parsed command line: global engine options plus the subcommand's own
// arguments, in order.  Throws UsageError on an option without its value.
struct CommandLine {
    std::string command;
    EngineOptions engine;
    std::vector<std::string> args;  // everything not consumed as a global option
};

CommandLine parse_command_line(int argc, char **argv);

// A command's own arguments, walked in order:
//   for (ArgCursor arg(args); arg.next();) { const std::string &x = arg.current(); ... arg.value() ... }
class ArgCursor {
public:
    explicit ArgCursor(const std::vector<std::string> &args) : args_(args) {}
    // Moves to the next argument; false when there is none left.
    bool next() { return ++at_ < args_.size(); }
    const std::string &current() const { return args_[at_]; }
    // The value of the option just read: the next argument, which it
    // consumes.  Throws UsageError "<option> needs a value" at the end.
    const std::string &value();

private:
    const std::vector<std::string> &args_;
    std::size_t at_ = static_cast<std::size_t>(-1);  // before the first
};

// `text` as a number in [lo, hi]; throws UsageError naming `option`.
double parse_number(const std::string &option, const std::string &text, double lo, double hi);
// `text` as a whole number in [lo, hi]; throws UsageError naming `option`.
std::uint64_t parse_count(const std::string &option, const std::string &text, std::uint64_t lo, std::uint64_t hi);

// "30s", "500ms", "2m" (a bare number is seconds); throws UsageError naming `option`.
std::chrono::milliseconds parse_duration(const std::string &option, const std::string &text);

// --json / --text: true (and `json` set) when `arg` is one of them;
// throws UsageError when both are given.
bool take_format_flag(const std::string &arg, bool &json, bool &format_set);

// Each returns the process exit status.
int run_backends_command(const CommandLine &cl);
int run_analyze_command(const CommandLine &cl);
// analyze --embedder NAME: the embedder of that name in --experts FILE (or
// the config file) embeds every response without an embedding, so the
// analysis compares meanings; a panel it cannot embed becomes an error line.
// It calls an embedding service: defined in analyze_embedder.cpp, which only
// coe-full links (the analysis-only `coe` hands analyze --embedder to
// coe-full, see full_tool.hpp).
std::function<void(Panel &)> make_embed_step(const std::string &embedder, const std::string &experts_file,
                                             const CommandLine &cl);
int run_plugin_command(const CommandLine &cl);
int run_vectors_command(const CommandLine &cl);
int run_consult_command(const CommandLine &cl);
int run_serve_command(const CommandLine &cl);
int run_deliberate_command(const CommandLine &cl);
int run_submit_command(const CommandLine &cl);
int run_collect_command(const CommandLine &cl);
int run_worker_command(const CommandLine &cl);

}  // namespace coe::cli
