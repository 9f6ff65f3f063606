// parse_panels: one JSON document or JSON Lines, told apart by content.
#include "coe/error.hpp"
#include "coe/panel_json.hpp"
#include "analysis/panel_reader.hpp"
#include "coe/internal/json_document.hpp"

namespace coe {
namespace {

bool single_line(std::string_view text) {
    const auto first_break = text.find('\n');
    return first_break == std::string_view::npos ||
           text.find_first_not_of(" \t\r\n", first_break) == std::string_view::npos;
}

// More than half of the non-blank lines parse as JSON on their own.
bool mostly_json_lines(std::string_view text) {
    std::size_t lines = 0, json = 0, start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        ++lines;
        try {
            internal::parse_json(line, "");
            ++json;
        } catch (const Error &) {}
    }
    return 2 * json > lines;
}

}  // namespace

bool names_json_lines(std::string_view source) {
    constexpr std::string_view suffix = ".jsonl";
    return source.size() >= suffix.size() && source.substr(source.size() - suffix.size()) == suffix;
}

std::vector<PanelLine> parse_panels(std::string_view text, const std::string &source) {
    if (!names_json_lines(source) && !single_line(text)) {
        // a valid (e.g. pretty-printed) panel document, read once
        if (std::optional<Panel> panel = detail::read_valid_panel_directly(text))
            return {PanelLine{1, std::move(*panel)}};
        std::string document_error;
        try {
            internal::parse_json(text, source);
        } catch (const Error &e) {
            document_error = e.what();
        }
        if (document_error.empty()) {
            try {
                return {PanelLine{1, parse_panel(text, source)}};
            } catch (const Error &e) {
                return {PanelLine{1, std::string(e.what())}};
            }
        }
        // Not one document.  JSON Lines if most of its lines are JSON values
        // on their own (a bad line then becomes one error record, never the
        // loss of the others); otherwise a broken multi-line document.
        if (!mostly_json_lines(text)) return {PanelLine{1, document_error}};
    }
    return parse_panel_lines(text, source);
}

}  // namespace coe
