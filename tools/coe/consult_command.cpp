// `coe consult "question" [--experts FILE] [--quorum K] [--deadline 30s]
//              [--stream] [--deltas] [--json] [--save-panel FILE]
//              [--review [--reviewer NAME]...] [--synthesize CHAIRMAN]`
//
// Asks every configured expert at once and prints the answers and the
// consensus: text by default, --json one report, --stream JSON Lines
// events as they happen (the last is "final").  --batch FILE consults many
// questions (consult_batch_command.cpp).
// Exit status: 0 quorum met, 3 quorum not met (the result is still
// printed), 1 fatal error, 2 usage error (also: no experts configured).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "consult_cli.hpp"
#include "coe/report_format.hpp"

namespace coe::cli {

namespace {

constexpr const char *how_to_configure = R"(no experts are configured.  Name them in a JSON file and pass it with
--experts FILE (or put an "experts" array in the config file given by --config
or COE_CONFIG).  Keys are read from the environment variable each expert names
in api_key_env, never from the file.  For example:

  {"experts": [
    {"name": "local", "provider": "ollama", "base_url": "http://127.0.0.1:11434", "model": "llama3.2"},
    {"name": "gpt", "provider": "openai", "base_url": "https://api.openai.com/v1",
     "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY"}]}

Providers: openai (and every OpenAI-compatible server), ollama, anthropic, gemini.
examples/experts.json lists every field.)";

}  // namespace

ConsultArgs parse_consult_args(const std::vector<std::string> &args) {
    ConsultArgs a;
    bool format_set = false;
    for (ArgCursor arg(args); arg.next();) {
        const std::string &x = arg.current();
        if (take_format_flag(x, a.json, format_set)) {
            continue;
        } else if (x == "--stream") {
            a.stream = true;
        } else if (x == "--deltas") {
            a.options.deltas = true;
        } else if (x == "--experts") {
            a.experts_file = arg.value();
        } else if (x == "--expert") {
            a.options.experts.push_back(arg.value());
        } else if (x == "--quorum") {
            a.options.quorum = static_cast<std::uint32_t>(parse_count(x, arg.value(), 1, 100000));
        } else if (x == "--deadline") {
            a.options.deadline = parse_duration(x, arg.value());
        } else if (x == "--id") {
            a.options.id = arg.value();
        } else if (x == "--system") {
            a.options.system_prompt = arg.value();
        } else if (x == "--review") {
            a.options.review = true;
        } else if (x == "--reviewer") {
            a.options.review = true;
            a.options.reviewers.push_back(arg.value());
        } else if (x == "--synthesize") {
            a.options.synthesize = arg.value();
        } else if (x == "--save-panel") {
            a.save_panel = arg.value();
        } else if (x == "--report") {
            a.report = arg.value();
        } else if (x == "--prometheus") {
            a.prometheus = true;
        } else if (x == "--cluster-threshold") {
            a.options.analysis.cluster_threshold = static_cast<float>(parse_number(x, arg.value(), -1, 1));
            a.options.analysis.word_vectors.cluster_threshold = a.options.analysis.cluster_threshold;
        } else if (x == "--batch") {
            a.batch = arg.value();
        } else if (x == "--output") {
            a.output = arg.value();
        } else if (x == "--resume") {
            a.output = arg.value();
            a.resume = true;
        } else if (x == "--concurrency") {
            a.concurrency = static_cast<unsigned>(parse_count(x, arg.value(), 1, 1024));
        } else if (!x.empty() && x[0] != '-') {
            if (!a.question.empty()) throw UsageError("give the question as one argument (quote it)");
            a.question = x;
        } else {
            throw UsageError("unknown argument '" + x + "'");
        }
    }
    if (a.batch.empty()) {
        if (a.question.empty()) throw UsageError("a question is needed (or --batch FILE)");
        if (!a.output.empty()) throw UsageError("--output and --resume are for --batch");
    } else {
        if (!a.question.empty()) throw UsageError("give either a question or --batch FILE, not both");
        if (a.stream || !a.save_panel.empty()) throw UsageError("--stream and --save-panel are for one question");
        if (!a.options.id.empty()) throw UsageError("--id is for one question; a batch takes ids from its lines");
    }
    if (a.prometheus && a.report.empty()) throw UsageError("--prometheus needs --report FILE|-");
    return a;
}

std::optional<ExpertsConfig> find_experts(const std::string &experts_file, const CommandLine &cl) {
    if (!experts_file.empty()) return load_experts_file(experts_file);
    std::filesystem::path config = cl.engine.config_file;
    if (config.empty())
        if (const char *env = std::getenv("COE_CONFIG"); env != nullptr && *env != '\0') config = env;
    if (!config.empty()) {
        std::ifstream in(config, std::ios::binary);
        if (!in) throw Error("config " + config.string() + ": cannot open file");
        std::ostringstream text;
        text << in.rdbuf();
        if (text.str().find("\"experts\"") != std::string::npos)
            return parse_experts(text.str(), "config " + config.string(), config.parent_path());
    }
    return std::nullopt;
}

ExpertsConfig load_experts(const ConsultArgs &args, const CommandLine &cl) {
    if (auto experts = find_experts(args.experts_file, cl)) return std::move(*experts);
    throw UsageError(how_to_configure);
}

void write_consult_report(const ConsultArgs &args, const Circle &circle) {
    if (args.report.empty()) return;
    const std::string text =
        args.prometheus ? circle.performance_report_prometheus() : circle.performance_report() + "\n";
    if (args.report == "-") {
        std::cerr << text;
        return;
    }
    std::ofstream out(args.report, std::ios::binary);
    out << text;
    if (!out) throw Error(args.report + ": cannot write the performance report");
}

int run_consult_command(const CommandLine &cl) {
    const ConsultArgs args = parse_consult_args(cl.args);
    ExpertsConfig experts = load_experts(args, cl);
    if (!args.batch.empty()) return run_consult_batch(args, cl, std::move(experts));

    Engine engine(cl.engine);
    Circle circle(engine, std::move(experts));
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    ConsultEventHandler on_event;
    if (args.stream) {
        on_event = [](const ConsultEvent &e) { std::cout << to_json(e) << "\n" << std::flush; };
    } else if (tty) {  // people see the circle answer as it happens
        on_event = [](const ConsultEvent &e) {
            if (e.type == ConsultEvent::Type::expert_done || e.type == ConsultEvent::Type::expert_failed)
                std::cerr << "  " << e.expert << ": " << e.answer->status << " ("
                          << static_cast<long>(e.answer->latency_ms) << " ms)  [" << e.answered << "/" << e.total
                          << " answered]\n";
        };
    }
    const ConsultationResult result = circle.consult(args.question, args.options, on_event);
    if (!args.stream) std::cout << (args.json ? to_json(result) + "\n" : to_text(result)) << std::flush;
    if (!args.save_panel.empty()) {
        std::ofstream out(args.save_panel, std::ios::binary);
        out << panel_json(result) << "\n";
        if (!out) throw Error(args.save_panel + ": cannot write the panel");
    }
    write_consult_report(args, circle);
    for (const ExpertAnswer &a : result.answers)
        if (!a.ok()) std::cerr << "coe consult: " << a.expert << ": " << a.status << ": " << a.error << "\n";
    if (!result.quorum_met) {
        std::cerr << "coe consult: " << result.answered << " of " << result.answers.size()
                  << " experts answered; the quorum of " << result.quorum << " was not met\n";
        return 3;
    }
    return 0;
}

}  // namespace coe::cli
