// panel_json.hpp - reading panels from JSON and JSON Lines.
//
// A panel is a JSON object:
//   {"id"?: string, "question"?: string, "category"?, "reference"?: string,
//    "responses": [{"expert": string, "content": string,
//                   "confidence"?: number in [0,1],
//                   "recommendations"?: [string], "limitations"?: [string],
//                   "embedding"?: [number]}]}
// Unknown fields are ignored (corpora carry extra metadata).
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "coe/panel.hpp"

namespace coe {

// Parses one panel.  `where` names the source in messages ("panels.jsonl:7").
// Throws coe::Error "<where>: <field path>: <problem>", e.g.
// "panels.jsonl:7: responses[2].confidence: 1.5 is outside [0, 1]", or for
// invalid JSON "<where>:<line>:<column>: invalid JSON: ...".
Panel parse_panel(std::string_view json, const std::string &where);

// One line of a JSON Lines file: the panel, or the error for that line.
struct PanelLine {
    std::size_t line = 0;  // 1-based line number in the file
    std::variant<Panel, std::string> panel_or_error;
};

// Splits `text` into lines and parses each non-blank one; a bad line becomes
// an error entry and never stops the others.  `source` names the file.
std::vector<PanelLine> parse_panel_lines(std::string_view text, const std::string &source);

// A whole input: a single JSON document (possibly pretty-printed) is one
// panel; otherwise, and always when `source` ends in ".jsonl", each line is a
// panel as in parse_panel_lines.  An input that is neither one document nor
// mostly lines of JSON (a broken pretty-printed document) is one error.
std::vector<PanelLine> parse_panels(std::string_view text, const std::string &source);

}  // namespace coe
