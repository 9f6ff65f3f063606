// consult_cli.hpp - what `coe consult` and `coe consult --batch` share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "coe/consult.hpp"

namespace coe::cli {

struct ConsultArgs {
    std::string question;
    std::string experts_file;
    ConsultOptions options;
    bool json = false, stream = false;
    std::string save_panel;  // write the answers as a panel here
    std::string report;      // performance report destination; "-": stderr
    bool prometheus = false;
    // batch
    std::string batch;         // questions.jsonl
    std::string output;        // results file (appended as they come, then put in input order)
    bool resume = false;       // skip the ids `output` already answers
    unsigned concurrency = 4;  // consultations at once
};

ConsultArgs parse_consult_args(const std::vector<std::string> &args);
// The experts from `experts_file` (--experts), else from the config file
// (--config, COE_CONFIG); nullopt when neither names any.
std::optional<ExpertsConfig> find_experts(const std::string &experts_file, const CommandLine &cl);
// The experts from --experts, else from the config file; throws UsageError
// with a how-to when there are none.
ExpertsConfig load_experts(const ConsultArgs &args, const CommandLine &cl);
// Writes the circle's (and engine's) performance report as --report asks.
void write_consult_report(const ConsultArgs &args, const Circle &circle);

// `coe consult --batch`, with the experts load_experts found.
int run_consult_batch(const ConsultArgs &args, const CommandLine &cl, ExpertsConfig experts);

}  // namespace coe::cli
