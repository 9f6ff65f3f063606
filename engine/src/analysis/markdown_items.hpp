// markdown_items.hpp - recommendations and limitations pulled out of an expert's markdown answer.
//
// The input is UTF-8, markdown-ish text as chat models write it ("\n" or "\r\n" line ends).  The rules:
//
//  * List items: a line whose first non-blank characters are a bullet (`-`, `*`, `+`, `•`) followed by a space or
//    tab, or a number followed by `.` or `)` and a space or tab (`1.`, `12)`).  Items at every indentation depth are
//    extracted, each as its own item.  A thematic break (`---`, `***`, `___`, `- - -`) is not an item, and neither
//    is `**Bold** text` (the bullet needs a blank after it).
//  * Continuation: a non-blank line that directly follows an item (or its previous continuation line), is not
//    itself an item, heading or fence, and is indented more than the item's marker is appended to the item with
//    one space.  Such an indented line is continuation text even when it looks like a label line (below).
//    A blank line, or any other line, ends the item.
//  * Item text: emphasis markers `**`, `__` and backticks are removed (the words stay), runs of whitespace become
//    one space, ends are trimmed.  Items empty after that are dropped; longer ones are cut to at most 1000 bytes,
//    never inside a UTF-8 character.
//  * Sections: ATX headings (`#`..`######` then a blank or end of line), setext headings (a text line directly
//    followed by a line of only `=` or only `-`, at least 3), and label lines (a whole line of bold text,
//    optionally with a colon inside or after it: `**Limitations:**`, `**Risks**:`; or a plain line of at most 80
//    bytes ending in `:`, e.g. `Caveats:`) set the section until the next one.  A section whose heading contains
//    (case-insensitively) limitation, caveat, risk, drawback, downside, disadvantage, concern, warning, weakness,
//    pitfall, challenge, trade-off, tradeoff, trade off, not recommended, avoid, or the whole word "cons" collects
//    limitations; any other section, and everything before the first heading, collects recommendations.
//  * Fenced code blocks (``` or ~~~, any indentation; an unclosed fence runs to the end) are ignored entirely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coe::detail {

// The longest item text extracted (longer ones are cut, see above).
constexpr std::size_t kMaxMarkdownItemBytes = 1000;

// Items of many texts in one buffer: each is a span of `text`.
struct ItemSpan {
    std::size_t offset = 0, length = 0;
    std::uint32_t owner = 0;  // who stated it (the caller's number, e.g. a response index)
};
struct ItemTexts {
    std::string text;
    std::vector<ItemSpan> recommendations, limitations;  // in order of appearance

    std::string_view view(const ItemSpan &item) const {
        return std::string_view(text).substr(item.offset, item.length);
    }
    void clear() {  // keeps the capacity
        text.clear();
        recommendations.clear();
        limitations.clear();
    }
};

// Scans markdown by the rules above.  Keeps its working buffers from call to
// call (and `out` keeps its own), so a scanner reused from panel to panel
// allocates nothing once they are large enough.  One per thread; never
// throws except std::bad_alloc.
class MarkdownItemScanner {
public:
    // Appends the items of `markdown` to `out`, each with owner `owner`;
    // recommendations only if `recommendations`, limitations only if
    // `limitations`.
    void scan(std::string_view markdown, std::uint32_t owner, ItemTexts &out, bool recommendations = true,
              bool limitations = true);

private:
    std::string raw_, lower_;
};

struct MarkdownItems {
    std::vector<std::string> recommendations;  // in order of appearance
    std::vector<std::string> limitations;      // in order of appearance
};

// The items of one text as strings.  Pure function, thread-safe, never throws except std::bad_alloc.
MarkdownItems extract_markdown_items(std::string_view markdown);

}  // namespace coe::detail
