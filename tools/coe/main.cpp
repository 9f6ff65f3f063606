// coe - the command-line face of the engine.  Parses, calls the public API,
// prints.  Exit status: 0 success, 1 failure, 2 usage error.  Built twice:
// coe-full runs every command, coe (COE_CLI_ANALYSIS_ONLY) the analysis
// commands, handing the others to coe-full (full_tool.hpp).
#include <cstring>
#include <iostream>
#include <string>

#include "cli_options.hpp"
#include "coe/error.hpp"
#include "full_tool.hpp"

namespace coe::cli {
namespace {

constexpr const char *usage = R"(usage: coe <command> [options]

commands:
  analyze [FILE|-] [--json|--text] [--threads N] [--cluster-threshold X]
          [--merge-threshold X] [--quorum N] [--report FILE|-] [--prometheus]
          [--max-input-mb N] [--max-experts N] [--embedder NAME [--experts FILE]]
                        consensus report of each panel in FILE (one JSON panel,
                        or JSON Lines: one panel per line); without FILE, the
                        shipped example panel.  Text by default, --json gives
                        one JSON line per panel.  Exit 3 if some panels failed.
                        --report writes the performance report (JSON, or
                        Prometheus text with --prometheus) after the run;
                        "-" prints it to stderr.  Inputs over --max-input-mb
                        (default 256) and panels over --max-experts (default
                        1024) are refused with a named error.  --embedder
                        embeds responses without embeddings first (the
                        embedder configured in the experts file), so the
                        analysis compares meanings.
  consult "QUESTION" [--experts FILE] [--quorum K] [--deadline 30s] [--json]
          [--stream] [--deltas] [--expert NAME] [--save-panel FILE]
          [--report FILE|-] [--prometheus] [--review [--reviewer NAME]]
          [--synthesize CHAIRMAN]
                        ask every configured expert at once (OpenAI-compatible,
                        Ollama, Anthropic, Gemini), print the answers and the
                        consensus; --stream prints JSON Lines events as they
                        happen (consensus after each answer, then final).
                        --review: each expert ranks the others' anonymised
                        answers (Borda and Schulze); --synthesize: one expert
                        writes the final answer from all of it.
                        Exit 3 if the quorum was not met.
  consult --batch QUESTIONS.jsonl [--output OUT.jsonl | --resume OUT.jsonl]
          [--concurrency N]
                        many questions, N at a time; results as JSON Lines in
                        input order; --resume skips ids OUT already answers
  deliberate PANELS.jsonl --experts FILE [--review] [--reviewer NAME]
          [--synthesize CHAIRMAN] [--record OUT.jsonl] [--json]
                        the stages after the answers (embeddings, peer
                        review, synthesis) on panels whose answers are given;
                        --record keeps what bench/deliberation_accuracy replays
  serve [--listen HOST:PORT] [--experts FILE] [--threads N]
        [--token-file FILE | --token-env VAR] [--max-body-mb N]
        [--max-per-client N] [--idle-timeout D] [--request-timeout D]
        [--drain-timeout D] [--quorum K] [--deadline D] [--model NAME]
        [--review] [--synthesize CHAIRMAN]
                        serve the circle over HTTP (default 127.0.0.1:8080):
                        /v1/analyze, /v1/consult (SSE with Accept:
                        text/event-stream), OpenAI-compatible
                        /v1/chat/completions and /v1/models, /metrics,
                        /healthz, /readyz; SIGINT/SIGTERM drain, then exit 0
  submit --nats URL FILE [--consult] [--batch ID] [--wait [--timeout D]]
                        enqueue every line of FILE (panels, or with --consult
                        questions) on NATS JetStream; prints the batch id
  collect --nats URL --batch ID [--timeout D] [--status]
                        the batch's results in input order, as analyze --json
  worker --nats URL [--threads N] [--experts FILE] [--ack-wait D]
         [--max-deliver N]
                        do jobs from the queue until SIGINT/SIGTERM
  backends [--json]     detected CPU features and every backend candidate
  plugin check PATH [--timeout-ms N]
                        validate one plugin and run each operation it provides
                        on a conformance suite against the scalar reference,
                        each in a child process (a crash or a hang fails that
                        operation); PASS/FAIL per operation, exit 1 on failure

options for every command:
  --backend NAME        force a backend (name or id; "auto" = best available)
  --plugin-path PATH    search this plugin file or folder first (repeatable)
  --config FILE         JSON config file (default: $COE_CONFIG)
  --disable-cpu LIST    treat these CPU features as absent, e.g. avx512f
                        (to see what an older CPU would get)
  --inject-fault SPEC   make a backend misbehave, for demonstrations:
                        BACKEND:KIND[:RATE[:MS]], KIND one of error, nan,
                        subtle, slow; e.g. avx2:nan:0.5 (repeatable)
  --shadow-rate X       share of calls also run on scalar and compared
                        (default 0.01)
  -h, --help            this text

environment: COE_BACKEND, COE_PLUGIN_PATH (colon-separated), COE_CONFIG
)";

}  // namespace

}  // namespace coe::cli

int main(int argc, char **argv) {
    using namespace coe::cli;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
            std::cout << usage;
            return 0;
        }
    std::string who = "coe";  // "coe analyze: ..." once the command is known
    try {
        CommandLine cl = parse_command_line(argc, argv);
        if (!cl.command.empty()) who += " " + cl.command;
#ifdef COE_CLI_ANALYSIS_ONLY
        if (!runs_without_network(cl)) exec_full_tool(argv, cl.command);
#endif
        if (cl.command == "backends") return run_backends_command(cl);
        if (cl.command == "analyze") return run_analyze_command(cl);
        if (cl.command == "plugin") return run_plugin_command(cl);
#ifndef COE_CLI_ANALYSIS_ONLY
        if (cl.command == "consult") return run_consult_command(cl);
        if (cl.command == "serve") return run_serve_command(cl);
        if (cl.command == "deliberate") return run_deliberate_command(cl);
        if (cl.command == "submit") return run_submit_command(cl);
        if (cl.command == "collect") return run_collect_command(cl);
        if (cl.command == "worker") return run_worker_command(cl);
#endif
        std::cerr << (cl.command.empty() ? "coe: no command given\n" : "coe: unknown command '" + cl.command + "'\n")
                  << usage;
        return 2;
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
