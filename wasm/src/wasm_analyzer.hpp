// wasm_analyzer.hpp - `coe analyze --json` as functions of text: what the
// WebAssembly module exports (wasm_exports.cpp).  Single-threaded; one
// Analyzer per module.
#pragma once

#include <string>
#include <string_view>

#include "coe/analysis.hpp"
#include "coe/panel_json.hpp"
#include "coe/report.hpp"

namespace coe::wasm {

class Analyzer {
public:
    // `features`: what `coe analyze --features KIND` would use ("auto" by
    // default: TF-IDF here, with the report's features_note saying why).
    explicit Analyzer(FeatureKind features = FeatureKind::automatic) : features_(features) {}

    // One panel (a JSON document, possibly pretty-printed, or a single JSON
    // line) to one line of JSON, without a newline: the report, or the error
    // line `coe analyze - --json` prints for it; an input that is not one
    // panel gives {"error": "..."} with the CLI's message.  `source` names the
    // input in messages as the CLI names its file ("<stdin>" for "-").
    std::string analyze(std::string_view text, const std::string &source);

    // JSON Lines in, one line out per non-blank input line, in order, each
    // ending in a newline: what `coe analyze FILE.jsonl --json` prints.  A
    // bad line gives its error line (naming the line number) and the others
    // are still analysed.  An input with no panel gives {"error": "..."}.
    std::string analyze_lines(std::string_view text, const std::string &source);

    // The backend this module runs ("wasm_simd128" or "scalar").
    static const char *backend();

private:
    // The report or error line of one parsed input line.
    void append_result(const PanelLine &line, const std::string &source, std::string &out);

    FeatureKind features_;
    AnalysisOptions options_;
    Report report_;  // reused from panel to panel, as the CLI does
};

}  // namespace coe::wasm
