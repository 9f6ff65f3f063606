#include "coe/panel_json.hpp"

#include <cfloat>
#include <cmath>
#include <istream>
#include <optional>

#include <boost/json.hpp>

#include "analysis/panel_messages.hpp"
#include "analysis/panel_reader.hpp"
#include "coe/error.hpp"
#include "coe/internal/json_document.hpp"
#include "prefaulted_memory.hpp"

namespace coe {

namespace {

namespace json = boost::json;

// The readers below throw coe::Error("<field path>: <problem>"); read_panel
// puts "<where>: " in front.

const char *kind_name(const json::value &v) {
    switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    }
    return "unknown";
}

[[noreturn]] void type_error(const std::string &path, const char *expected, const json::value &got) {
    throw Error(path + ": must be " + expected + ", got " + kind_name(got));
}

// Where a value sits in the panel ("responses[2].recommendations[3]"),
// written out only when there is an error to report: paths are built from
// links on the stack, so reading a valid panel allocates none.
struct Path {
    const Path *parent = nullptr;
    std::string_view key;          // a field name, or empty for an array element
    std::size_t index = SIZE_MAX;  // the array element's index
    Path field(std::string_view k) const { return {this, k, SIZE_MAX}; }
    Path element(std::size_t i) const { return {this, {}, i}; }
    std::string str() const {
        std::string s = parent ? parent->str() : std::string();
        if (index != SIZE_MAX) return s + "[" + std::to_string(index) + "]";
        return s.empty() ? std::string(key) : s + "." + std::string(key);
    }
};

[[noreturn]] void type_error(const Path &path, const char *expected, const json::value &got) {
    type_error(path.str(), expected, got);
}

// An optional field: nullptr when absent or null.
const json::value *optional_field(const json::object &o, std::string_view key) {
    const json::value *v = o.if_contains(key);
    return v != nullptr && v->is_null() ? nullptr : v;
}

const json::value &required_field(const json::object &o, const Path &path) {
    const json::value *v = o.if_contains(path.key);
    if (v == nullptr) throw Error(path.str() + ": missing");
    return *v;
}

std::string read_string(const json::value &v, const Path &path) {
    if (!v.is_string()) type_error(path, "a string", v);
    return std::string(v.get_string());
}

std::string required_string(const json::object &o, const Path &path) {
    return read_string(required_field(o, path), path);
}

double number_value(const json::value &v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return v.get_double();
}

// A number id is kept as its decimal text; only integers are taken, since
// other numbers have no single text.
std::string read_id(const json::value &v, const Path &path) {
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (!v.is_string()) type_error(path, "a string or an integer", v);
    return std::string(v.get_string());
}

std::vector<std::string> read_string_list(const json::value &v, const Path &path) {
    if (!v.is_array()) type_error(path, "an array of strings", v);
    const json::array &items = v.get_array();
    std::vector<std::string> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) out.push_back(read_string(items[i], path.element(i)));
    return out;
}

float read_float(const json::value &v, const Path &path) {
    if (!v.is_number()) type_error(path, "a number", v);
    const double d = number_value(v);
    // Boost.JSON reads numbers beyond the double range as infinities
    if (!std::isfinite(d)) throw Error(path.str() + ": must be a finite number, got " + detail::format_number(d));
    if (std::fabs(d) > static_cast<double>(FLT_MAX))
        throw Error(path.str() + ": " + detail::format_number(d) + " does not fit in a float");
    return static_cast<float>(d);
}

std::vector<float> read_embedding(const json::value &v, const Path &path) {
    if (!v.is_array()) type_error(path, "an array of numbers", v);
    const json::array &items = v.get_array();
    if (items.empty()) throw Error(path.str() + ": empty");
    std::vector<float> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) out.push_back(read_float(items[i], path.element(i)));
    return out;
}

Response read_response(const json::value &v, const Path &path) {
    if (!v.is_object()) type_error(path, "an object", v);
    const json::object &o = v.get_object();
    Response r;
    r.expert = required_string(o, path.field("expert"));
    r.content = required_string(o, path.field("content"));
    if (const json::value *c = optional_field(o, "confidence")) {
        // range and finiteness are checked by validate()
        if (!c->is_number()) type_error(path.field("confidence"), "a number", *c);
        r.confidence = number_value(*c);
    }
    if (const json::value *list = optional_field(o, "recommendations"))
        r.recommendations = read_string_list(*list, path.field("recommendations"));
    if (const json::value *list = optional_field(o, "limitations"))
        r.limitations = read_string_list(*list, path.field("limitations"));
    if (const json::value *e = optional_field(o, "embedding"))
        r.embedding = read_embedding(*e, path.field("embedding"));
    return r;
}

std::vector<Response> read_responses(const json::value &v) {
    const Path responses{nullptr, "responses"};
    if (!v.is_array()) type_error(responses, "an array", v);
    const json::array &items = v.get_array();
    std::vector<Response> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) out.push_back(read_response(items[i], responses.element(i)));
    return out;
}

Panel read_panel_object(const json::value &doc) {
    if (!doc.is_object()) throw Error(std::string("the top level must be a JSON object, got ") + kind_name(doc));
    const json::object &o = doc.get_object();
    Panel panel;
    if (const json::value *id = optional_field(o, "id")) panel.id = read_id(*id, Path{nullptr, "id"});
    if (const json::value *q = optional_field(o, "question"))
        panel.question = read_string(*q, Path{nullptr, "question"});
    panel.responses = read_responses(required_field(o, Path{nullptr, "responses"}));
    return panel;
}

// JSON types are checked while reading; everything a PanelView can express is
// left to validate() so that both paths report it alike.
Panel read_panel(const json::value &doc, const std::string &where) {
    try {
        Panel panel = read_panel_object(doc);
        validate(panel.view());
        return panel;
    } catch (const Error &e) {
        throw Error(where + ": " + e.what());
    }
}

// Line `number` of a JSON Lines input, without its "\n": its panel or
// error, or nothing when it is blank (CR LF line ends are accepted).
std::optional<PanelLine> line_entry(std::string_view line, const std::string &source, std::size_t number) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
    return parse_panel_line(line, source, number);
}

}  // namespace

PanelLine parse_panel_line(std::string_view line, const std::string &source, std::size_t number) {
    PanelLine out;
    out.line = number;
    if (std::optional<Panel> panel = detail::read_valid_panel_directly(line)) {
        out.panel_or_error = std::move(*panel);
        return out;
    }
    try {
        // read_json adds its own line:column; the offset makes it the file's line
        out.panel_or_error = internal::read_json(line, source, number - 1, [&](const json::value &doc) {
            return read_panel(doc, source + ":" + std::to_string(number));
        });
    } catch (const Error &e) {
        out.panel_or_error = std::string(e.what());
    }
    return out;
}

Panel detail::parse_panel_with_document(std::string_view json, const std::string &where) {
    return internal::read_json(json, where, 0, [&](const json::value &doc) { return read_panel(doc, where); });
}

Panel parse_panel(std::string_view json, const std::string &where) {
    if (std::optional<Panel> panel = detail::read_valid_panel_directly(json)) return std::move(*panel);
    return detail::parse_panel_with_document(json, where);
}

std::vector<PanelLine> parse_panel_lines(std::string_view text, const std::string &source) {
    std::vector<PanelLine> out;
    std::size_t number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (auto entry = line_entry(line, source, ++number)) out.push_back(std::move(*entry));
    }
    return out;
}

PanelLineReader::PanelLineReader(std::istream &in, std::string source, std::size_t max_line_bytes,
                                 std::string already_read)
    : in_(in), source_(std::move(source)), max_line_(max_line_bytes), buffer_(std::move(already_read)) {}

bool PanelLineReader::fill() {
    if (end_) return false;
    constexpr std::size_t chunk = 1 << 20;
    if (pos_ > 0) {  // keep only the unread part
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    const std::size_t old = buffer_.size();
    if (buffer_.capacity() < old + chunk) {  // a new block: its pages in one call, not a fault each
        buffer_.reserve(old + chunk);
        kernels::prefault_pages(buffer_.data(), buffer_.capacity());
    }
    buffer_.resize(old + chunk);
    in_.read(buffer_.data() + old, static_cast<std::streamsize>(chunk));
    buffer_.resize(old + static_cast<std::size_t>(in_.gcount()));
    if (in_.bad()) throw Error(source_ + ": read error after line " + std::to_string(line_));
    if (in_.gcount() == 0) end_ = true;
    return !end_;
}

std::optional<PanelLine> PanelLineReader::next() {
    for (;;) {
        std::size_t scanned = pos_;  // no newline in [pos_, scanned)
        std::size_t newline;
        bool too_long = false;
        while ((newline = buffer_.find('\n', scanned)) == std::string::npos) {
            if (buffer_.size() - pos_ > max_line_) {
                too_long = true;
                break;
            }
            scanned = buffer_.size() - pos_;  // relative: fill() moves the unread part to 0
            if (!fill()) break;
            scanned += pos_;
        }
        if (too_long) {
            // skip to the end of the line in bounded memory
            const std::size_t number = ++line_;
            for (;;) {
                newline = buffer_.find('\n', pos_);
                if (newline != std::string::npos) {
                    pos_ = newline + 1;
                    break;
                }
                pos_ = buffer_.size();
                if (!fill()) break;
            }
            return PanelLine{number, source_ + ":" + std::to_string(number) + ": the line is longer than " +
                                         std::to_string(max_line_ >> 20) + " MiB (--max-input-mb)"};
        }
        if (newline == std::string::npos && pos_ >= buffer_.size()) return std::nullopt;
        const std::size_t end = newline == std::string::npos ? buffer_.size() : newline;
        const std::string_view line(buffer_.data() + pos_, end - pos_);
        pos_ = newline == std::string::npos ? buffer_.size() : newline + 1;
        if (auto entry = line_entry(line, source_, ++line_)) return entry;
    }
}

}  // namespace coe
