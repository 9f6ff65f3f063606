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
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_options.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"

namespace coe::cli {

extern const char *const example_panel_json;

namespace {

struct AnalyzeArgs {
    std::string file;    // empty: the embedded example; "-": stdin
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
    for (ArgCursor arg(args); arg.next();) {
        const std::string &x = arg.current();
        if (take_format_flag(x, a.json, format_set)) {
            continue;
        } else if (x == "--threads") {
            a.threads = static_cast<unsigned>(parse_count(x, arg.value(), 1, 1024));
        } else if (x == "--cluster-threshold") {
            a.options.cluster_threshold = static_cast<float>(parse_number(x, arg.value(), -1, 1));
            a.options.word_vectors.cluster_threshold = a.options.cluster_threshold;  // whichever features run
        } else if (x == "--report") {
            a.report = arg.value();
        } else if (x == "--max-experts") {
            a.options.max_experts = parse_count(x, arg.value(), 1, 1000000);
        } else if (x == "--max-input-mb") {
            a.max_input_bytes = parse_count(x, arg.value(), 1, 1u << 20) << 20;
        } else if (x == "--prometheus") {
            a.prometheus = true;
        } else if (x == "--merge-threshold") {
            a.options.item_merge_threshold = static_cast<float>(parse_number(x, arg.value(), -1, 1));
            a.options.word_vectors.item_merge_threshold = a.options.item_merge_threshold;
        } else if (x == "--embedder") {
            a.embedder = arg.value();
        } else if (x == "--experts") {
            a.experts_file = arg.value();
        } else if (x == "--quorum") {
            a.options.quorum = static_cast<std::uint32_t>(parse_count(x, arg.value(), 1, 1000000000));
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

// `text` and the rest of `in`, at most `limit` bytes: a larger one (or an endless one,
// such as /dev/zero) is an error, in bounded memory.
std::string read_input(std::istream &in, const std::string &source, std::string text, std::uint64_t limit) {
    char buffer[1 << 16];
    while (text.size() <= limit && (in.read(buffer, sizeof buffer) || in.gcount() > 0))
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit)
        throw Error(source + ": input exceeds " + std::to_string(limit >> 20) + " MiB (--max-input-mb)");
    return text;
}

// Progress on a terminal: "[####    ] 12/80 panels", or a count when the
// total is not known (a stream).
class ProgressBar {
public:
    ProgressBar() : enabled_(::isatty(STDERR_FILENO)) {}
    void update(std::size_t done, std::size_t total) const {
        if (!enabled_ || total == 1) return;
        if (total == 0) {
            if (done % 64 == 0) std::fprintf(stderr, "\r%zu panels", done);
        } else {
            const int width = 40;
            const int filled = static_cast<int>(width * done / total);
            std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu panels", filled, "########################################",
                         width - filled, "", done, total);
            if (done == total) std::fputc('\n', stderr);
        }
        std::fflush(stderr);
    }
    void finish(std::size_t done, std::size_t total) const {
        if (enabled_ && total == 0 && done > 0) std::fprintf(stderr, "\r%zu panels\n", done);
    }

private:
    bool enabled_;
};

// The first non-blank line of `head` is a whole JSON value on its own.
bool starts_with_a_json_line(const std::string &head) {
    std::size_t start = 0;
    while (start < head.size()) {
        std::size_t end = head.find('\n', start);
        if (end == std::string::npos) return false;  // not a whole line yet
        const std::string_view line(head.data() + start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const PanelLine parsed = parse_panel_line(line, "", 1);
        const auto *error = std::get_if<std::string>(&parsed.panel_or_error);
        return error == nullptr || error->find("invalid JSON") == std::string::npos;
    }
    return false;
}

}  // namespace

// The input is read in bounded memory when it is JSON Lines (a FILE ending
// in .jsonl, or an input longer than its first MiB whose first line is a
// JSON value of its own): one line at a time, the reports written in input
// order as soon as each and all earlier ones are done.  Anything else (one
// panel, possibly pretty-printed) is read whole, up to --max-input-mb.
int run_analyze_command(const CommandLine &cl) {
    const AnalyzeArgs args = parse_args(cl.args);
    const std::string source = args.file.empty() ? "example-panel.json" : args.file == "-" ? "<stdin>" : args.file;
    const std::function<void(Panel &)> embed =
        args.embedder.empty() ? nullptr : make_embed_step(args.embedder, args.experts_file, cl);

    std::ifstream opened;
    std::istream *in = &std::cin;
    std::string head;              // the start of the input, to tell the format
    std::vector<PanelLine> whole;  // the panels of an input read whole
    std::optional<PanelLineReader> reader;
    if (args.file.empty()) {
        whole = parse_panels(example_panel_json, source);
    } else {
        if (args.file != "-") {
            std::error_code ec;
            if (std::filesystem::is_directory(args.file, ec))
                throw Error(args.file + ": is a directory, not a file of panels");
            opened.open(args.file, std::ios::binary);
            if (!opened) throw Error(args.file + ": cannot open file");
            in = &opened;
        }
        // at most 1 MiB, grown 64 KiB at a time: a resize zeroes (and faults
        // in) what it adds, and a small input should not pay for 1 MiB
        const std::size_t head_size = std::size_t{1} << 20, step = std::size_t{64} << 10;
        head.reserve(head_size);
        while (head.size() < head_size) {
            const std::size_t old = head.size();
            head.resize(old + step);
            in->read(head.data() + old, static_cast<std::streamsize>(step));
            head.resize(old + static_cast<std::size_t>(in->gcount()));
            if (in->gcount() < static_cast<std::streamsize>(step)) break;
        }
        const bool more = in->gcount() > 0 && !in->eof();
        if (names_json_lines(source) || (more && starts_with_a_json_line(head))) {
            reader.emplace(*in, source, static_cast<std::size_t>(args.max_input_bytes), std::move(head));
        } else {
            whole = parse_panels(read_input(*in, source, std::move(head), args.max_input_bytes), source);
        }
    }
    if (!reader && whole.empty()) throw Error(source + ": no panels in the input");

    Engine engine(cl.engine);
    std::size_t next_whole = 0, done = 0, failed = 0;
    const std::size_t total = reader ? 0 : whole.size();
    ProgressBar bar;
    auto next = [&]() -> std::optional<PanelLine> {
        std::optional<PanelLine> line;
        if (reader) line = reader->next();
        else if (next_whole < whole.size()) line = std::move(whole[next_whole++]);
        if (!line) return line;
        if (auto *p = std::get_if<Panel>(&line->panel_or_error); p && embed) {
            try {
                embed(*p);
            } catch (const Error &e) {
                line->panel_or_error = std::string(e.what());
            }
        }
        return line;
    };
    auto emit = [&](const PanelLine &line, const Engine::BatchResult &r) {
        if (r.report) {
            std::cout << (args.json ? to_json(*r.report) + "\n" : (done > 0 ? "\n" : "") + to_text(*r.report));
        } else {
            // errors of the input name their place already; analysis errors get it here
            const std::string error = std::holds_alternative<std::string>(line.panel_or_error)
                                          ? r.error
                                          : source + ":" + std::to_string(line.line) + ": " + r.error;
            ++failed;
            if (args.json) std::cout << error_json(line.line, error) << "\n";
            else std::cout << (done > 0 ? "\n" : "") << "error: " << error << "\n";
            std::cerr << "coe analyze: " << error << "\n";
        }
        std::cout.flush();
        bar.update(++done, total);
    };
    engine.analyze_stream(next, emit, args.options, args.threads);
    bar.finish(done, total);
    if (!std::cout) throw Error("cannot write the reports to the standard output");
    if (done == 0) throw Error(source + ": no panels in the input");

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
        std::cerr << "coe analyze: " << failed << " of " << done << " panels failed\n";
        return 3;
    }
    return 0;
}

}  // namespace coe::cli
