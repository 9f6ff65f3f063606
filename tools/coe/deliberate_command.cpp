// `coe deliberate PANELS.jsonl [--experts FILE] [--review] [--reviewer NAME]...
//                [--synthesize CHAIRMAN] [--record OUT.jsonl] [--json]`
//
// Deliberates on panels whose answers are given (recorded, or labelled sets
// such as TruthfulQA panels): the circle's embedder embeds responses that
// have no embedding, its experts review the answers, a chairman
// synthesises.  Prints one result per panel (JSON Lines with --json);
// --record appends what bench/deliberation_accuracy replays offline.
// Exit 0, 3 when some panel failed (an error line each, the others go on).
#include <fstream>
#include <iostream>
#include <sstream>

#include "consult_cli.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

namespace coe::cli {

int run_deliberate_command(const CommandLine &cl) {
    std::string file, experts_file, record;
    bool json = false, format_set = false;
    ConsultOptions options;
    for (ArgCursor arg(cl.args); arg.next();) {
        const std::string &x = arg.current();
        if (take_format_flag(x, json, format_set)) continue;
        if (x == "--experts") experts_file = arg.value();
        else if (x == "--review") options.review = true;
        else if (x == "--reviewer") options.review = true, options.reviewers.push_back(arg.value());
        else if (x == "--synthesize") options.synthesize = arg.value();
        else if (x == "--record") record = arg.value();
        else if (x == "--deadline") options.deadline = parse_duration(x, arg.value());
        else if (!x.empty() && x[0] != '-' && file.empty()) file = x;
        else throw UsageError("unknown argument '" + x + "'");
    }
    if (file.empty())
        throw UsageError("usage: coe deliberate PANELS.jsonl [--experts FILE] [--review] [--synthesize NAME]");
    std::optional<ExpertsConfig> experts = find_experts(experts_file, cl);
    if (!experts) throw UsageError("coe deliberate needs experts (--experts FILE): they review and synthesise");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file + ": cannot open file");
    std::stringstream text;
    text << in.rdbuf();
    std::ofstream recording;
    if (!record.empty()) {
        recording.open(record, std::ios::app);
        if (!recording) throw Error(record + ": cannot open for appending");
    }

    Engine engine(cl.engine);
    Circle circle(engine, std::move(*experts));
    std::size_t failed = 0;
    for (const PanelLine &line : parse_panels(text.str(), file)) {
        const auto *panel = std::get_if<Panel>(&line.panel_or_error);
        std::string error = panel ? std::string() : std::get<std::string>(line.panel_or_error);
        if (panel) {
            try {
                const ConsultationResult r = circle.deliberate(*panel, options);
                std::cout << (json ? to_json(r) + "\n" : to_text(r) + "\n");
                if (recording.is_open()) recording << recording_json(r) << "\n" << std::flush;
                continue;
            } catch (const Error &e) {
                error = e.what();
            }
        }
        ++failed;
        std::cout << (json ? error_json(line.line, error) + "\n" : "error: " + error + "\n\n");
        std::cerr << "coe deliberate: " << error << "\n";
    }
    return failed ? 3 : 0;
}

}  // namespace coe::cli
