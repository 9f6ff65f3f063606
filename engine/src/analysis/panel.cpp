#include "coe/panel.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "analysis/panel_messages.hpp"
#include "analysis/utf8_sequence.hpp"
#include "coe/error.hpp"
#include "coe/internal/shortest_double.hpp"

namespace coe {

namespace {

std::optional<std::vector<std::string_view>> view_list(const std::optional<std::vector<std::string>> &list) {
    if (!list) return std::nullopt;
    return std::vector<std::string_view>(list->begin(), list->end());
}

ResponseView view_response(const Response &r) {
    ResponseView v;
    v.expert = r.expert;
    v.content = r.content;
    v.confidence = r.confidence;
    v.recommendations = view_list(r.recommendations);
    v.limitations = view_list(r.limitations);
    if (!r.embedding.empty()) {
        v.embedding = r.embedding.data();
        v.embedding_size = r.embedding.size();
    }
    return v;
}

[[noreturn]] void fail(std::size_t index, const char *field, const std::string &problem) {
    throw Error(detail::response_path(index, field) + ": " + problem);
}

bool has_embedding(const ResponseView &r) { return r.embedding_size > 0; }

// The offset of the first byte that is not well-formed UTF-8 (overlongs,
// surrogates and code points above U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
    const auto *begin = reinterpret_cast<const unsigned char *>(s.data());
    const unsigned char *end = begin + s.size();
    std::size_t i = 0;
    while (i < s.size()) {
        // ASCII, most of any text: eight bytes at a time
        while (i + 8 <= s.size()) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= s.size()) break;
        if (begin[i] < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = detail::utf8_sequence(begin + i, end);
        if (n == 0) return i;
        i += n;
    }
    return std::string_view::npos;
}

void check_utf8(std::string_view text, const std::string &path) {
    const std::size_t at = invalid_utf8_at(text);
    if (at != std::string_view::npos) throw Error(path + ": invalid UTF-8 at byte " + std::to_string(at));
}

// A field of response `index` (item `item` of a list, unless SIZE_MAX);
// the path in its message is built only when the text is invalid.
void check_utf8(std::string_view text, std::size_t index, const char *field, std::size_t item = SIZE_MAX) {
    if (invalid_utf8_at(text) == std::string_view::npos) return;
    check_utf8(text, detail::response_path(index, field) + (item == SIZE_MAX ? "" : "[" + std::to_string(item) + "]"));
}

void check_texts(const ResponseView &r, std::size_t index) {
    check_utf8(r.expert, index, "expert");
    check_utf8(r.content, index, "content");
    for (const auto *list : {&r.recommendations, &r.limitations}) {
        if (!*list) continue;
        const char *field = list == &r.recommendations ? "recommendations" : "limitations";
        for (std::size_t k = 0; k < (*list)->size(); ++k) check_utf8((**list)[k], index, field, k);
    }
}

// The first response whose expert name an earlier one already has, and
// that earlier one; {npos, npos} when the names are unique.  The names are
// sorted in a vector kept per thread (validation runs on every panel and
// allocates nothing).
std::pair<std::size_t, std::size_t> first_repeated_expert(const PanelView &panel) {
    thread_local std::vector<std::pair<std::string_view, std::size_t>> names;
    names.clear();
    for (std::size_t i = 0; i < panel.responses.size(); ++i) names.emplace_back(panel.responses[i].expert, i);
    std::sort(names.begin(), names.end());
    std::pair<std::size_t, std::size_t> repeat{std::string_view::npos, std::string_view::npos};
    for (std::size_t k = 1; k < names.size(); ++k)
        // the second of a run of equal names (the runs are sorted by index)
        if (names[k].first == names[k - 1].first && (k < 2 || names[k - 2].first != names[k].first) &&
            names[k].second < repeat.first)
            repeat = {names[k].second, names[k - 1].second};
    return repeat;
}

void check_expert(const ResponseView &r, std::size_t index, std::pair<std::size_t, std::size_t> repeat) {
    if (r.expert.empty()) fail(index, "expert", "empty");
    if (index == repeat.first)
        fail(index, "expert", detail::quote(r.expert) + " repeats " + detail::response_path(repeat.second, nullptr));
}

void check_confidence(const ResponseView &r, std::size_t index) {
    if (!r.confidence) return;
    const double c = *r.confidence;
    if (!std::isfinite(c)) fail(index, "confidence", "must be a finite number, got " + detail::format_number(c));
    if (c < 0.0 || c > 1.0) fail(index, "confidence", detail::format_number(c) + " is outside [0, 1]");
}

// `reference` is the first response with an embedding; every response must then
// have one of the same length.
void check_embedding(const PanelView &panel, std::size_t index, std::optional<std::size_t> reference) {
    const ResponseView &r = panel.responses[index];
    if (!reference) return;
    const std::size_t expected = panel.responses[*reference].embedding_size;
    if (!has_embedding(r))
        fail(index, "embedding", "missing, but " + detail::response_path(*reference, nullptr) + " has one");
    if (r.embedding_size != expected)
        fail(index, "embedding",
             std::to_string(r.embedding_size) + " values, but " + detail::response_path(*reference, nullptr) + " has " +
                 std::to_string(expected));
    if (r.embedding == nullptr) fail(index, "embedding", "null pointer with size " + std::to_string(r.embedding_size));
    for (std::size_t i = 0; i < r.embedding_size; ++i)
        if (!std::isfinite(r.embedding[i]))
            throw Error(detail::response_path(index, "embedding") + "[" + std::to_string(i) +
                        "]: must be a finite number, got " + detail::format_number(r.embedding[i]));
}

std::optional<std::size_t> first_with_embedding(const PanelView &panel) {
    for (std::size_t i = 0; i < panel.responses.size(); ++i)
        if (has_embedding(panel.responses[i])) return i;
    return std::nullopt;
}

}  // namespace

namespace detail {

std::string response_path(std::size_t index, const char *field) {
    std::string path = "responses[" + std::to_string(index) + "]";
    if (field != nullptr) path.append(".").append(field);
    return path;
}

std::string format_number(double value) {
    char buf[32];
    return std::string(buf, internal::write_shortest(value, buf));
}

std::string quote(std::string_view text) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (byte < 0x20) {
            out += "\\u00";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        } else {
            out += ch;
        }
    }
    out += '"';
    return out;
}

}  // namespace detail

PanelView Panel::view() const {
    PanelView v;
    v.id = id;
    v.question = question;
    v.responses.reserve(responses.size());
    for (const Response &r : responses) v.responses.push_back(view_response(r));
    return v;
}

void validate(const PanelView &panel) {
    if (panel.responses.empty()) throw Error("responses: empty");
    check_utf8(panel.id, "id");
    check_utf8(panel.question, "question");
    const std::pair<std::size_t, std::size_t> repeat = first_repeated_expert(panel);
    const std::optional<std::size_t> reference = first_with_embedding(panel);
    for (std::size_t i = 0; i < panel.responses.size(); ++i) {
        check_texts(panel.responses[i], i);
        check_expert(panel.responses[i], i, repeat);
        check_confidence(panel.responses[i], i);
        check_embedding(panel, i, reference);
    }
}

}  // namespace coe
