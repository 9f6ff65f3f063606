// `coe analyze [FILE|-] [--json|--text] [--threads N] [--cluster-threshold X]
//              [--merge-threshold X] [--quorum N]`
//
// FILE holds one panel (a JSON document) or many (JSON Lines, one panel per
// line); without FILE the embedded example panel is analysed.  JSON output
// is one line per panel, in input order; a panel that cannot be analysed
// yields {"line": N, "error": "..."} and the others still run.
// --report FILE|- writes Engine::performance_report() after the run.
// Exit status: 0 all analysed, 1 fatal error, 3 some panels failed.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_options.hpp"
#include "coe/embedder.hpp"
#include "consult_cli.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

namespace coe::cli {

extern const char *const example_panel_json;

namespace {

struct AnalyzeArgs {
    std::string file;  // empty: the embedded example; "-": stdin
    std::string report;  // performance report destination; "-": stderr
    bool prometheus = false;
    bool json = false;
    unsigned threads = 0;
    std::uint64_t max_input_bytes = 256ull << 20;
    AnalysisOptions options;
    std::string embedder, experts_file;  // --embedder NAME: embed responses that have no embedding
};

AnalyzeArgs parse_args(const std::vector<std::string> &args) {
    AnalyzeArgs a;
    bool format_set = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &x = args[i];
        auto value = [&]() -> const std::string & {
            if (i + 1 >= args.size()) throw UsageError(x + " needs a value");
            return args[++i];
        };
        if (take_format_flag(x, a.json, format_set)) {
            continue;
        } else if (x == "--threads") {
            a.threads = static_cast<unsigned>(parse_count(x, value(), 1, 1024));
        } else if (x == "--cluster-threshold") {
            a.options.cluster_threshold = static_cast<float>(parse_number(x, value(), -1, 1));
        } else if (x == "--report") {
            a.report = value();
        } else if (x == "--max-experts") {
            a.options.max_experts = parse_count(x, value(), 1, 1000000);
        } else if (x == "--max-input-mb") {
            a.max_input_bytes = parse_count(x, value(), 1, 1u << 20) << 20;
        } else if (x == "--prometheus") {
            a.prometheus = true;
        } else if (x == "--merge-threshold") {
            a.options.item_merge_threshold = static_cast<float>(parse_number(x, value(), -1, 1));
        } else if (x == "--embedder") {
            a.embedder = value();
        } else if (x == "--experts") {
            a.experts_file = value();
        } else if (x == "--quorum") {
            a.options.quorum = static_cast<std::uint32_t>(parse_count(x, value(), 1, 1000000000));
        } else if (x == "-" || (!x.empty() && x[0] != '-')) {
            if (!a.file.empty()) throw UsageError("more than one input file given");
            a.file = x;
        } else {
            throw UsageError("unknown argument '" + x + "'");
        }
    }
    if (a.prometheus && a.report.empty()) throw UsageError("--prometheus needs --report FILE|-");
    return a;
}

// The whole input, at most `limit` bytes: a larger one (or an endless one,
// such as /dev/zero) is an error, in bounded memory.
std::string read_input(const std::string &file, std::uint64_t limit) {
    std::ifstream opened;
    std::istream *in = &std::cin;
    if (file != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec)) throw Error(file + ": is a directory, not a file of panels");
        opened.open(file, std::ios::binary);
        if (!opened) throw Error(file + ": cannot open file");
        in = &opened;
    }
    std::string text;
    char buffer[1 << 16];
    while (in->read(buffer, sizeof buffer) || in->gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in->gcount()));
        if (text.size() > limit)
            throw Error((file == "-" ? std::string("<stdin>") : file) + ": input exceeds " + std::to_string(limit >> 20) +
                        " MiB (--max-input-mb)");
    }
    return text;
}

class ProgressBar {
public:
    explicit ProgressBar(std::size_t total) : enabled_(total > 1 && ::isatty(STDERR_FILENO)) {}
    void update(std::size_t done, std::size_t total) const {
        if (!enabled_) return;
        const int width = 40;
        const int filled = static_cast<int>(width * done / total);
        std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu panels", filled, "########################################",
                     width - filled, "", done, total);
        if (done == total) std::fputc('\n', stderr);
        std::fflush(stderr);
    }

private:
    bool enabled_;
};

}  // namespace

// --embedder NAME: the embedder of that name in --experts FILE (or the config
// file) embeds every response without an embedding; the analysis then
// compares meanings.  A panel it cannot embed becomes an error line.
static void embed_panels(std::vector<PanelLine> &lines, const AnalyzeArgs &args, const CommandLine &cl) {
    const std::optional<ExpertsConfig> experts = find_experts(args.experts_file, cl);
    if (!experts || !experts->embedder)
        throw UsageError("--embedder " + args.embedder + ": no embedder is configured (an \"embedder\" object in "
                         "--experts FILE or the config file)");
    if (experts->embedder->name != args.embedder)
        throw UsageError("--embedder " + args.embedder + ": the configured embedder is '" + experts->embedder->name + "'");
    Embedder embedder(*experts->embedder);
    for (auto &line : lines)
        if (auto *p = std::get_if<Panel>(&line.panel_or_error)) {
            try {
                embedder.embed_panel(*p);
            } catch (const Error &e) {
                line.panel_or_error = std::string(e.what());
            }
        }
}

int run_analyze_command(const CommandLine &cl) {
    const AnalyzeArgs args = parse_args(cl.args);
    const std::string source = args.file.empty() ? "example-panel.json" : args.file == "-" ? "<stdin>" : args.file;
    const std::string text = args.file.empty() ? std::string(example_panel_json) : read_input(args.file, args.max_input_bytes);
    std::vector<PanelLine> lines = parse_panels(text, source);
    if (lines.empty()) throw Error(source + ": no panels in the input");

    if (!args.embedder.empty()) embed_panels(lines, args, cl);
    Engine engine(cl.engine);
    std::vector<PanelView> views;
    std::vector<std::size_t> view_of_line(lines.size(), SIZE_MAX);
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (auto *p = std::get_if<Panel>(&lines[i].panel_or_error)) {
            view_of_line[i] = views.size();
            views.push_back(p->view());
        }
    ProgressBar bar(views.size());
    auto results = engine.analyze_batch(views, args.options, args.threads,
                                        [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });

    std::size_t failed = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string error;
        const Report *report = nullptr;
        if (auto *e = std::get_if<std::string>(&lines[i].panel_or_error)) {
            error = *e;
        } else {
            const auto &r = results[view_of_line[i]];
            if (r.report)
                report = &*r.report;
            else
                error = source + ":" + std::to_string(lines[i].line) + ": " + r.error;
        }
        if (report) {
            std::cout << (args.json ? to_json(*report) + "\n" : to_text(*report) + (i + 1 < lines.size() ? "\n" : ""));
        } else {
            ++failed;
            if (args.json)
                std::cout << error_json(lines[i].line, error) << "\n";
            else
                std::cout << "error: " << error << "\n\n";
            std::cerr << "coe analyze: " << error << "\n";
        }
    }
    std::cout.flush();
    if (!args.report.empty()) {
        const std::string report =
            args.prometheus ? engine.performance_report_prometheus() : engine.performance_report() + "\n";
        if (args.report == "-") {
            std::cerr << report;
        } else {
            std::ofstream out(args.report, std::ios::binary);
            out << report;
            if (!out) throw Error(args.report + ": cannot write the performance report");
        }
    }
    if (failed > 0) {
        std::cerr << "coe analyze: " << failed << " of " << lines.size() << " panels failed\n";
        return 3;
    }
    return 0;
}

}  // namespace coe::cli
