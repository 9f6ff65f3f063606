// parse_panels: one JSON document or JSON Lines, told apart by content.
#include "coe/error.hpp"
#include "coe/panel_json.hpp"
#include "config/json_document.hpp"

namespace coe {
namespace {

bool ends_with(const std::string &s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool single_line(std::string_view text) {
    const auto first_break = text.find('\n');
    return first_break == std::string_view::npos ||
           text.find_first_not_of(" \t\r\n", first_break) == std::string_view::npos;
}

}  // namespace

std::vector<PanelLine> parse_panels(std::string_view text, const std::string &source) {
    if (!ends_with(source, ".jsonl") && !single_line(text)) {
        std::string document_error;
        try {
            detail::parse_json(text, source);
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
        // Not one document.  If its first line is not JSON on its own either,
        // it is a broken multi-line document: report that, not every line.
        const auto begin = text.find_first_not_of(" \t\r\n");
        const auto end = text.find('\n', begin);
        try {
            detail::parse_json(text.substr(begin, end - begin), source);
        } catch (const Error &) {
            return {PanelLine{1, document_error}};
        }
    }
    return parse_panel_lines(text, source);
}

}  // namespace coe
