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

#include <cstdint>
#include <iosfwd>
#include <optional>
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

// Parses one line of a JSON Lines file (number: 1-based, for messages).
PanelLine parse_panel_line(std::string_view line, const std::string &source, std::size_t number);

// Reads JSON Lines panels from a stream in bounded chunks: memory holds the
// line being read (at most max_line_bytes) and one chunk, never the file.
// A longer line becomes an error entry and is skipped to its end.  Lines
// ending in CR LF are accepted; blank lines are skipped.  Not thread-safe.
class PanelLineReader {
public:
    // `already_read`: bytes taken from the stream before (e.g. to sniff the
    // format); they are read first.
    PanelLineReader(std::istream &in, std::string source, std::size_t max_line_bytes, std::string already_read = {});
    // The next non-blank line's panel or error; nullopt at the end.
    // Throws coe::Error when the stream fails (not at its end).
    std::optional<PanelLine> next();

private:
    bool fill();  // reads one more chunk; false at the end

    std::istream &in_;
    std::string source_;
    std::size_t max_line_;
    std::string buffer_;
    std::size_t pos_ = 0;   // start of the unread part of buffer_
    std::size_t line_ = 0;  // lines read so far
    bool end_ = false;
};

// A whole input: a single JSON document (possibly pretty-printed) is one
// panel; otherwise, and always when `source` ends in ".jsonl", each line is a
// panel as in parse_panel_lines.  An input that is neither one document nor
// mostly lines of JSON (a broken pretty-printed document) is one error.
std::vector<PanelLine> parse_panels(std::string_view text, const std::string &source);

// Whether `source` is named as JSON Lines (ends in ".jsonl"): such a file is
// read line by line whatever its content.
bool names_json_lines(std::string_view source);

}  // namespace coe
