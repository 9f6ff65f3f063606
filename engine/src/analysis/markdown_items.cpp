// markdown_items.cpp - a line-by-line scan of a chat model's markdown for list items, sorted into
// recommendations and limitations by the heading they sit under.  See the header for the rules.
#include "analysis/markdown_items.hpp"

#include <cstddef>
#include <optional>
#include <utility>

#include "analysis/clean_text.hpp"
#include "coe/internal/strings.hpp"

namespace coe::detail {

namespace {

constexpr std::size_t kMaxLabelBytes = 80;
constexpr std::size_t kTabWidth = 4;
constexpr std::string_view kBullet = "\xE2\x80\xA2";  // U+2022 BULLET
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// ---------------------------------------------------------------------------------------------------------------
// Small text helpers.

bool is_blank_char(char c) { return c == ' ' || c == '\t'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

using internal::trim;

// The first line of `text` without its "\n" or "\r\n"; `text` moves past it.  A final line without "\n" still
// counts; call only while `text` is not empty.
std::string_view take_line(std::string_view &text) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// ---------------------------------------------------------------------------------------------------------------
// Indentation: a line split into its leading blanks (measured in columns, tabs to the next multiple of 4) and the
// rest.

struct IndentedLine {
    std::size_t column = 0;  // column of the first non-blank character
    std::string_view rest;   // the line from that character on
};

IndentedLine split_indent(std::string_view line) {
    IndentedLine out;
    std::size_t i = 0;
    for (; i < line.size() && is_blank_char(line[i]); ++i) {
        out.column = line[i] == '\t' ? (out.column / kTabWidth + 1) * kTabWidth : out.column + 1;
    }
    out.rest = line.substr(i);
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Block recognisers.  Each takes the line without its indentation.

struct Fence {
    char ch = '`';
    std::size_t length = 0;
};

std::size_t run_length(std::string_view s, char c) {
    std::size_t n = 0;
    while (n < s.size() && s[n] == c) ++n;
    return n;
}

// "```lang" or "~~~".  As in CommonMark, a backtick fence's info string may not hold a backtick, so a line like
// "```x``` is inline code" does not open a fence that would swallow the rest of the answer.
std::optional<Fence> fence_opening(std::string_view rest) {
    if (rest.empty() || (rest[0] != '`' && rest[0] != '~')) return std::nullopt;
    Fence fence{rest[0], run_length(rest, rest[0])};
    if (fence.length < 3) return std::nullopt;
    if (fence.ch == '`' && rest.find('`', fence.length) != std::string_view::npos) return std::nullopt;
    return fence;
}

bool closes_fence(std::string_view rest, const Fence &fence) {
    std::size_t n = run_length(rest, fence.ch);
    return n >= fence.length && trim(rest.substr(n)).empty();
}

// "## Title" -> "Title"; "#hashtag" and "####### x" are not headings.
std::optional<std::string_view> atx_heading_text(std::string_view rest) {
    std::size_t n = run_length(rest, '#');
    if (n == 0 || n > 6) return std::nullopt;
    if (n < rest.size() && !is_blank_char(rest[n])) return std::nullopt;
    return trim(rest.substr(n));
}

// Three or more of one of `-`, `*`, `_`, blanks allowed in between, nothing else.
bool is_thematic_break(std::string_view rest) {
    if (rest.empty() || (rest[0] != '-' && rest[0] != '*' && rest[0] != '_')) return false;
    std::size_t count = 0;
    for (char c : trim(rest)) {
        if (c == rest[0]) {
            ++count;
        } else if (!is_blank_char(c)) {
            return false;
        }
    }
    return count >= 3;
}

// Only `=` or only `-`, at least 3 of them, no inner blanks (so "- - -" stays a thematic break).
bool is_setext_underline(std::string_view rest) {
    rest = trim(rest);
    if (rest.size() < 3 || (rest[0] != '=' && rest[0] != '-')) return false;
    return run_length(rest, rest[0]) == rest.size();
}

// The text after a list marker, or nothing when the line is not a list item.  The marker must be followed by a
// blank, which is what keeps "**Bold**" and "*emphasis*" out.
std::optional<std::string_view> list_item_content(std::string_view rest) {
    auto after_marker = [&](std::size_t marker_bytes) -> std::optional<std::string_view> {
        if (marker_bytes < rest.size() && is_blank_char(rest[marker_bytes])) return rest.substr(marker_bytes + 1);
        return std::nullopt;
    };
    if (rest.empty()) return std::nullopt;
    if (rest[0] == '-' || rest[0] == '*' || rest[0] == '+') return after_marker(1);
    if (starts_with(rest, kBullet)) return after_marker(kBullet.size());
    std::size_t digits = 0;
    while (digits < rest.size() && is_digit(rest[digits])) ++digits;
    if (digits > 0 && digits < rest.size() && (rest[digits] == '.' || rest[digits] == ')')) {
        return after_marker(digits + 1);
    }
    return std::nullopt;
}

// A whole line of bold text, optionally with a colon: "**Limitations:**", "**Risks**:", "__Caveats__".
// Returns the text between the markers.  "**Bold** and **more**" is a sentence, not a label.
std::optional<std::string_view> bold_label_text(std::string_view trimmed) {
    if (ends_with(trimmed, ":")) trimmed = trim(trimmed.substr(0, trimmed.size() - 1));
    for (std::string_view marker : {std::string_view("**"), std::string_view("__")}) {
        if (trimmed.size() <= 2 * marker.size() || !starts_with(trimmed, marker) || !ends_with(trimmed, marker)) {
            continue;
        }
        std::string_view inner = trimmed.substr(marker.size(), trimmed.size() - 2 * marker.size());
        if (inner.find(marker) == std::string_view::npos && !trim(inner).empty()) return inner;
    }
    return std::nullopt;
}

// A bold label, or a short plain line ending with a colon ("Caveats:"); the text that names the section.
std::optional<std::string_view> label_text(std::string_view rest) {
    std::string_view trimmed = trim(rest);
    if (auto bold = bold_label_text(trimmed)) return bold;
    if (ends_with(trimmed, ":") && trimmed.size() <= kMaxLabelBytes) return trimmed;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// Text cleanup and classification.

// Cuts the part of `s` from `start` on to at most max_bytes without splitting a UTF-8 sequence: the cut moves back
// while it would land on a continuation byte (10xxxxxx).
void truncate_utf8(std::string &s, std::size_t start, std::size_t max_bytes) {
    if (s.size() - start <= max_bytes) return;
    std::size_t cut = start + max_bytes;
    while (cut > start && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) --cut;
    s.resize(cut);
    while (s.size() > start && internal::ascii_space.find(s.back()) != std::string_view::npos) s.pop_back();
}

bool contains_word(std::string_view text, std::string_view word) {
    for (std::size_t pos = text.find(word); pos != std::string_view::npos; pos = text.find(word, pos + 1)) {
        bool starts_word = pos == 0 || !is_alnum(text[pos - 1]);
        std::size_t end = pos + word.size();
        bool ends_word = end == text.size() || !is_alnum(text[end]);
        if (starts_word && ends_word) return true;
    }
    return false;
}

// Substring match for the keywords, so "Risks", "Key concerns" and "Things to avoid" all count; "cons" must be a
// whole word so that "Considerations" does not.  `lower` is working space.
bool is_limitations_heading(std::string_view heading, std::string &lower) {
    static constexpr std::string_view kKeywords[] = {
        "limitation", "caveat",  "risk",      "drawback",  "downside", "disadvantage",    "concern", "warning",
        "weakness",   "pitfall", "challenge", "trade-off", "tradeoff", "not recommended", "avoid",   "trade off"};
    lower.clear();
    append_clean_text(heading, lower);
    for (char &c : lower) c = to_lower(c);
    for (std::string_view keyword : kKeywords) {
        if (lower.find(keyword) != std::string::npos) return true;
    }
    return contains_word(lower, "cons");
}

// ---------------------------------------------------------------------------------------------------------------
// The scan's state: the current section and the item being collected.

class ItemCollector {
public:
    ItemCollector(ItemTexts &out, std::uint32_t owner, bool recommendations, bool limitations, std::string &raw,
                  std::string &lower)
        : out_(out),
          owner_(owner),
          keep_recommendations_(recommendations),
          keep_limitations_(limitations),
          raw_(raw),
          lower_(lower) {}

    void heading(std::string_view text) {
        close_item();
        in_limitations_ = is_limitations_heading(text, lower_);
    }

    void open_item(std::string_view content, std::size_t marker_column) {
        close_item();
        raw_.assign(content);
        marker_column_ = marker_column;
        limitation_ = in_limitations_;
        open_ = true;
    }

    // Whether a line starting at this column would continue the open item.
    bool continues_item(std::size_t column) const { return open_ && column > marker_column_; }

    void append(std::string_view text) {
        raw_.push_back(' ');
        raw_.append(text);
    }

    void close_item() {
        if (!open_) return;
        open_ = false;
        if (!(limitation_ ? keep_limitations_ : keep_recommendations_)) return;
        const std::size_t start = out_.text.size();
        append_clean_text(raw_, out_.text);
        truncate_utf8(out_.text, start, kMaxMarkdownItemBytes);
        if (out_.text.size() > start)
            (limitation_ ? out_.limitations : out_.recommendations)
                .push_back({start, out_.text.size() - start, owner_});
    }

private:
    ItemTexts &out_;
    const std::uint32_t owner_;
    const bool keep_recommendations_, keep_limitations_;
    std::string &raw_;    // the open item's text so far
    std::string &lower_;  // working space of is_limitations_heading
    std::size_t marker_column_ = 0;
    bool open_ = false, limitation_ = false, in_limitations_ = false;
};

// A line that is none of blank, fence, heading, break or item.  `next` is the following line, if any, for setext
// headings.  Returns true when it consumed `next` as a setext underline.
bool handle_text_line(ItemCollector &items, const IndentedLine &line, const std::optional<IndentedLine> &next) {
    bool continuation = items.continues_item(line.column);
    // Under an item, an underline only makes a heading when it is indented into the item too; "text\n---" at the
    // margin after an item is a continuation followed by a thematic break.
    if (next && is_setext_underline(next->rest) && (!continuation || items.continues_item(next->column))) {
        items.heading(line.rest);
        return true;
    }
    if (continuation) {
        items.append(line.rest);
    } else if (auto label = label_text(line.rest)) {
        items.heading(*label);
    } else {
        items.close_item();  // a paragraph line
    }
    return false;
}

}  // namespace

void MarkdownItemScanner::scan(std::string_view markdown, std::uint32_t owner, ItemTexts &out, bool recommendations,
                               bool limitations) {
    if (starts_with(markdown, kBom)) markdown.remove_prefix(kBom.size());
    ItemCollector items(out, owner, recommendations, limitations, raw_, lower_);
    std::optional<Fence> fence;
    while (!markdown.empty()) {
        const IndentedLine line = split_indent(take_line(markdown));
        if (fence) {
            if (closes_fence(line.rest, *fence)) fence.reset();
            continue;
        }
        if (trim(line.rest).empty()) {
            items.close_item();
        } else if ((fence = fence_opening(line.rest))) {
            // A fence indented into an item keeps the item open for continuation text after the block.
            if (!items.continues_item(line.column)) items.close_item();
        } else if (auto heading = atx_heading_text(line.rest)) {
            items.heading(*heading);
        } else if (is_thematic_break(line.rest)) {
            items.close_item();
        } else if (auto content = list_item_content(line.rest)) {
            items.open_item(*content, line.column);
        } else {
            std::optional<IndentedLine> next;
            std::string_view after = markdown;
            if (!after.empty()) next = split_indent(take_line(after));
            if (handle_text_line(items, line, next)) markdown = after;
        }
    }
    items.close_item();
}

MarkdownItems extract_markdown_items(std::string_view markdown) {
    ItemTexts texts;
    MarkdownItemScanner().scan(markdown, 0, texts);
    MarkdownItems out;
    for (const ItemSpan &item : texts.recommendations) out.recommendations.emplace_back(texts.view(item));
    for (const ItemSpan &item : texts.limitations) out.limitations.emplace_back(texts.view(item));
    return out;
}

}  // namespace coe::detail
