// Tests of extract_markdown_items: list items pulled out of an expert's markdown answer and sorted into
// recommendations and limitations by the heading above them.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/clean_text.hpp"
#include "analysis/markdown_items.hpp"

using coe::detail::extract_markdown_items;
using coe::detail::MarkdownItems;
using Items = std::vector<std::string>;

// Readable failure messages for vector comparisons.
namespace doctest {
template <>
struct StringMaker<Items> {
    static String convert(const Items &items) {
        std::string out = "{";
        for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
        out += "}";
        return String(out.c_str());
    }
};
}  // namespace doctest

namespace {

Items recs(const std::string &markdown) { return extract_markdown_items(markdown).recommendations; }

Items lims(const std::string &markdown) { return extract_markdown_items(markdown).limitations; }

bool is_valid_utf8(const std::string &s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += len;
    }
    return true;
}

}  // namespace

TEST_CASE("bullets of every kind") {
    CHECK(recs("- dash\n* star\n+ plus\n\xE2\x80\xA2 dot\n") == Items{"dash", "star", "plus", "dot"});
    CHECK(recs("-\ttab after dash\n") == Items{"tab after dash"});
    CHECK(recs("-   extra   spaces  \n") == Items{"extra spaces"});
}

TEST_CASE("numbered items") {
    CHECK(recs("1. one\n2) two\n") == Items{"one", "two"});
    CHECK(recs("9. nine\n10. ten\n11) eleven\n123. many\n") == Items{"nine", "ten", "eleven", "many"});
    CHECK(recs("2023. was great\n") == Items{"was great"});
}

TEST_CASE("not bullets") {
    SUBCASE("marker without a following blank") { CHECK(recs("-dash\n*star*\n1.5 is a number\n#hashtag\n").empty()); }
    SUBCASE("thematic breaks") {
        CHECK(recs("---\n***\n___\n- - -\n* * *\n").empty());
        CHECK(recs("- a\n---\n- b\n") == Items{"a", "b"});
        CHECK(recs("- a\n\n***\n\n- b\n") == Items{"a", "b"});
    }
    SUBCASE("bold paragraph") {
        CHECK(recs("**Bold** sentence that is a paragraph.\n").empty());
        CHECK(recs("**Note:** this is prose, not a list.\n").empty());
    }
}

TEST_CASE("nested items are extracted separately") {
    SUBCASE("spaces, two and three levels") {
        const char *md = "- top\n  - second\n    - third\n  - second again\n- top again\n";
        CHECK(recs(md) == Items{"top", "second", "third", "second again", "top again"});
    }
    SUBCASE("tabs") {
        const char *md = "1. top\n\t- second\n\t\t- third\n2. next\n";
        CHECK(recs(md) == Items{"top", "second", "third", "next"});
    }
    SUBCASE("mixed numbered and bullets") {
        const char *md = "1. **Cache** results\n   * in memory\n   * on disk\n      1. with TTL\n2. Batch\n";
        CHECK(recs(md) == Items{"Cache results", "in memory", "on disk", "with TTL", "Batch"});
    }
}

TEST_CASE("emphasis is stripped from item text") {
    CHECK(recs("- **Use caching**: it is `fast` and __cheap__\n") == Items{"Use caching: it is fast and cheap"});
    CHECK(recs("- *single* _markers_ stay\n") == Items{"*single* _markers_ stay"});
    CHECK(recs("- **\n- ``\n- real\n") == Items{"real"});
}

TEST_CASE("continuation lines") {
    SUBCASE("indented lines are joined with one space") {
        const char *md = "- first line\n  second line\n\tthird line\n- next\n";
        CHECK(recs(md) == Items{"first line second line third line", "next"});
    }
    SUBCASE("a blank line ends the item") {
        const char *md = "- item\n\n  indented paragraph after a blank\n- next\n";
        CHECK(recs(md) == Items{"item", "next"});
    }
    SUBCASE("a line at the margin ends the item") { CHECK(recs("- item\nparagraph\n") == Items{"item"}); }
    SUBCASE("continuation must be indented past the nested marker") {
        const char *md = "- top\n  - nested\n    more nested\n  not more than nested marker\n";
        CHECK(recs(md) == Items{"top", "nested more nested"});
    }
    SUBCASE("emphasis spanning lines is stripped") { CHECK(recs("1. **Scale\n   out**\n") == Items{"Scale out"}); }
    SUBCASE("a colon line indented under an item is text, not a label") {
        const char *md = "- Add these\n  settings to avoid trouble:\n  - timeout\n";
        CHECK(recs(md) == Items{"Add these settings to avoid trouble:", "timeout"});
        CHECK(lims(md).empty());
    }
}

TEST_CASE("headings choose the section") {
    SUBCASE("ATX heading and back") {
        const char *md = "## Recommendations\n- a\n## Limitations\n- b\n- c\n## Next steps\n- d\n";
        MarkdownItems items = extract_markdown_items(md);
        CHECK(items.recommendations == Items{"a", "d"});
        CHECK(items.limitations == Items{"b", "c"});
    }
    SUBCASE("bold label line") {
        const char *md = "- a\n\n**Caveats:**\n- b\n\n**Benefits**:\n- c\n";
        CHECK(recs(md) == Items{"a", "c"});
        CHECK(lims(md) == Items{"b"});
    }
    SUBCASE("bold label with the colon outside") {
        CHECK(lims("**Risks**:\n- b\n") == Items{"b"});
        CHECK(lims("__Drawbacks__\n- b\n") == Items{"b"});
    }
    SUBCASE("plain label line") {
        const char *md = "Risks:\n- b\nNext steps:\n- c\n";
        CHECK(lims(md) == Items{"b"});
        CHECK(recs(md) == Items{"c"});
    }
    SUBCASE("a long line ending with a colon is prose, not a label") {
        std::string md = "This sentence mentions a risk and runs on well past eighty characters before it ends:\n- a\n";
        CHECK(recs(md) == Items{"a"});
    }
    SUBCASE("label directly after an item ends the item") {
        const char *md = "- a\nCaveats:\n- b\n";
        CHECK(recs(md) == Items{"a"});
        CHECK(lims(md) == Items{"b"});
    }
    SUBCASE("setext headings") {
        const char *md = "Limitations\n===\n- b\n\nWhat to do\n----------\n- c\n";
        CHECK(lims(md) == Items{"b"});
        CHECK(recs(md) == Items{"c"});
    }
    SUBCASE("--- after a blank line is a thematic break, not a heading") {
        const char *md = "## Risks\n- b\n\nSome limitation prose.\n\n---\n- still a risk\n";
        CHECK(lims(md) == Items{"b", "still a risk"});
        CHECK(recs(md).empty());
    }
    SUBCASE("--- at the margin after a continuation line is a thematic break") {
        const char *md = "## Cons\n- b\n  more\n---\n- c\n";
        CHECK(lims(md) == Items{"b more", "c"});
    }
    SUBCASE("keywords") {
        for (const char *heading :
             {"## Potential Risks", "### Key concerns", "# Pros and Cons", "## Trade-offs", "## Tradeoffs",
              "## Things to Avoid", "## Not recommended", "## Warnings", "## WEAKNESSES", "## Common pitfalls",
              "## Challenges", "## Downsides", "## Disadvantages", "## Drawbacks", "## Caveats", "#### Limitations"}) {
            CAPTURE(heading);
            CHECK(lims(std::string(heading) + "\n- x\n") == Items{"x"});
        }
        for (const char *heading : {"## Considerations", "## Constraints met", "## Recommendations", "## Steps"}) {
            CAPTURE(heading);
            CHECK(recs(std::string(heading) + "\n- x\n") == Items{"x"});
        }
    }
    SUBCASE("nested items inherit the section") {
        const char *md = "## Limitations\n- top\n  - nested\n    - deeper\n";
        CHECK(lims(md) == Items{"top", "nested", "deeper"});
    }
    SUBCASE("items before any heading are recommendations") { CHECK(recs("- a\n# Risks\n").size() == 1); }
}

TEST_CASE("code fences are ignored") {
    const char *md = "- a\n```bash\n- not an item\n## Risks\n```\n- b\n~~~\n- nor this\n~~~\n- c\n";
    MarkdownItems items = extract_markdown_items(md);
    CHECK(items.recommendations == Items{"a", "b", "c"});
    CHECK(items.limitations.empty());

    SUBCASE("a fence indented into an item keeps the item open") {
        const char *nested = "1. Run this\n   ```\n   - x\n   ```\n   then restart\n2. Done\n";
        CHECK(recs(nested) == Items{"Run this then restart", "Done"});
    }
    SUBCASE("an unclosed fence runs to the end") { CHECK(recs("- a\n```\n- b\n") == Items{"a"}); }
    SUBCASE("inline code at line start does not open a fence") {
        CHECK(recs("```x``` is inline\n- a\n") == Items{"a"});
    }
    SUBCASE("a shorter run does not close a longer fence") {
        CHECK(recs("````\n```\n- hidden\n````\n- a\n") == Items{"a"});
    }
}

TEST_CASE("CRLF line endings") {
    const char *md = "Intro.\r\n\r\n- a\r\n  more\r\n\r\n## Limitations\r\n1. b\r\n";
    MarkdownItems items = extract_markdown_items(md);
    CHECK(items.recommendations == Items{"a more"});
    CHECK(items.limitations == Items{"b"});
}

TEST_CASE("empty and list-free input") {
    MarkdownItems empty = extract_markdown_items("");
    CHECK(empty.recommendations.empty());
    CHECK(empty.limitations.empty());

    MarkdownItems prose = extract_markdown_items("# Answer\n\nJust a paragraph.\nAnother line.\n\n**Bold** end.\n");
    CHECK(prose.recommendations.empty());
    CHECK(prose.limitations.empty());

    CHECK(recs("\n\n   \n\t\n").empty());
}

TEST_CASE("long items are truncated to 1000 bytes of valid UTF-8") {
    SUBCASE("ASCII") {
        Items items = recs("- " + std::string(1500, 'x') + "\n");
        REQUIRE(items.size() == 1);
        CHECK(items[0] == std::string(1000, 'x'));
    }
    SUBCASE("a 3-byte character straddling the limit is dropped whole") {
        // 999 bytes of 'a' then "€" (E2 82 AC): byte 1000 would split the character.
        Items items = recs("- " + std::string(999, 'a') + "\xE2\x82\xAC" + "tail\n");
        REQUIRE(items.size() == 1);
        CHECK(items[0] == std::string(999, 'a'));
        CHECK(is_valid_utf8(items[0]));
    }
    SUBCASE("multi-byte text of every alignment") {
        for (std::size_t pad = 0; pad < 4; ++pad) {
            std::string body = std::string(pad, 'p');
            while (body.size() < 1200) body += "\xF0\x9F\x98\x80\xC3\xA9";  // U+1F600, U+00E9
            Items items = recs("- " + body + "\n");
            REQUIRE(items.size() == 1);
            CHECK(items[0].size() <= 1000);
            CHECK(items[0].size() >= 996);
            CHECK(is_valid_utf8(items[0]));
        }
    }
    SUBCASE("the limit applies to the joined continuation") {
        Items items = recs("- " + std::string(600, 'a') + "\n  " + std::string(600, 'b') + "\n");
        REQUIRE(items.size() == 1);
        CHECK(items[0].size() == 1000);
    }
}

TEST_CASE("a realistic chat-model answer") {
    const char *md =
        "Great question! Choosing a database for this workload depends on a few factors. "
        "Here's what I'd recommend:\n"
        "\n"
        "## Recommendations\n"
        "\n"
        "1. **Use PostgreSQL as the primary store** - it handles relational data well and has\n"
        "   mature tooling.\n"
        "2. **Add a read replica:** offload reporting queries.\n"
        "   - Use `pg_stat_statements` to find slow queries first.\n"
        "3. **Cache hot reads** with Redis.\n"
        "\n"
        "```sql\n"
        "-- Example\n"
        "1. SELECT * FROM users;\n"
        "```\n"
        "\n"
        "---\n"
        "\n"
        "### Limitations\n"
        "\n"
        "- Replicas add **replication lag** (usually < 1s).\n"
        "- Redis adds another moving part to operate.\n"
        "\n"
        "**Next steps:**\n"
        "\n"
        "* Benchmark with production-like data.\n"
        "\n"
        "Let me know if you'd like more detail!\n";
    MarkdownItems items = extract_markdown_items(md);
    CHECK(items.recommendations ==
          Items{"Use PostgreSQL as the primary store - it handles relational data well and has mature tooling.",
                "Add a read replica: offload reporting queries.", "Use pg_stat_statements to find slow queries first.",
                "Cache hot reads with Redis.", "Benchmark with production-like data."});
    CHECK(items.limitations ==
          Items{"Replicas add replication lag (usually < 1s).", "Redis adds another moving part to operate."});
}

// The cleanup rules of an item's text, one byte at a time: the specification
// that append_clean_text's block-wise scan must reproduce.
std::string clean_text_by_the_rules(std::string_view raw) {
    std::string out;
    bool space = false;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '`') continue;
        if ((c == '*' || c == '_') && i + 1 < raw.size() && raw[i + 1] == c) {
            ++i;
            continue;
        }
        if (std::string_view(" \t\r\n\f\v").find(c) != std::string_view::npos) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

TEST_CASE("item text cleanup equals the byte-wise rules on random text") {
    // words, single and double spaces, every rule's bytes and UTF-8, in
    // texts long enough for many 16-byte blocks and their edges
    const std::string_view pieces[] = {"word", " ",  " ",  " ",  "  ", "\t", "\r\n",
                                       "`",    "**", "*",  "__", "_",  "a",  "é",
                                       "—",    ".",  "x*", "_y", "\f", "\v", "0123456789abcdef"};
    std::mt19937 random(20261205);
    for (int round = 0; round < 4000; ++round) {
        std::string raw;
        const std::size_t count = random() % 40;
        for (std::size_t k = 0; k < count; ++k) raw += pieces[random() % std::size(pieces)];
        std::string out = "kept|";  // appends after what is there
        coe::detail::append_clean_text(raw, out);
        REQUIRE_MESSAGE(out == "kept|" + clean_text_by_the_rules(raw), "raw text: [" << raw << "]");
    }
}
