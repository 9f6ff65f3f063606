#include "wasm_analyzer.hpp"

#include <variant>

#include "analysis/consensus_pipeline.hpp"
#include "coe/error.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "no_word_vectors.hpp"
#include "resilience/backend_chain.hpp"
#include "static_backends.hpp"

namespace coe::wasm {
namespace {

// The CLI's default --max-input-mb.
constexpr std::size_t max_input_bytes = std::size_t{256} << 20;

std::string fatal(const std::string &message) { return error_json(0, message); }

bool too_large(std::string_view text) { return text.size() > max_input_bytes; }

std::string too_large_message(const std::string &source) {
    return source + ": input exceeds " + std::to_string(max_input_bytes >> 20) + " MiB (--max-input-mb)";
}

}  // namespace

const char *Analyzer::backend() { return module_backend().descriptor().name; }

void Analyzer::append_result(const PanelLine &line, const std::string &source, std::string &out) {
    if (const auto *error = std::get_if<std::string>(&line.panel_or_error)) {
        out += error_json(line.line, *error);  // errors of the input name their place already
        return;
    }
    static const NoWordVectors no_word_vectors;
    const detail::FeatureSources sources{features_, &no_word_vectors};
    static thread_local detail::CallTrace trace;
    trace.clear();
    try {
        const detail::BackendOps ops(module_backend());
        detail::analyze_panel(ops, std::get<Panel>(line.panel_or_error).view(), options_, sources, trace, report_,
                              detail::Fill::reused);
        report_.backend.assign(backend());
        out += to_json(report_);
    } catch (const std::exception &e) {
        out += error_json(line.line, source + ":" + std::to_string(line.line) + ": " + e.what());
    }
}

std::string Analyzer::analyze(std::string_view text, const std::string &source) {
    if (too_large(text)) return fatal(too_large_message(source));
    try {
        const std::vector<PanelLine> lines = parse_panels(text, source);
        if (lines.empty()) return fatal(source + ": no panels in the input");
        if (lines.size() > 1)
            return fatal(source + ": holds " + std::to_string(lines.size()) +
                         " panels (JSON Lines); analyzeLines analyses them");
        std::string out;
        append_result(lines.front(), source, out);
        return out;
    } catch (const std::exception &e) {
        return fatal(e.what());
    }
}

std::string Analyzer::analyze_lines(std::string_view text, const std::string &source) {
    if (too_large(text)) return fatal(too_large_message(source)) + "\n";
    try {
        const std::vector<PanelLine> lines = parse_panel_lines(text, source);
        if (lines.empty()) return fatal(source + ": no panels in the input") + "\n";
        std::string out;
        for (const PanelLine &line : lines) {
            append_result(line, source, out);
            out += '\n';
        }
        return out;
    } catch (const std::exception &e) {
        return fatal(e.what()) + "\n";
    }
}

}  // namespace coe::wasm
