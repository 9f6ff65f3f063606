#include "coe/json_text.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "coe/internal/shortest_double.hpp"

namespace coe {
namespace {

void append_string(std::string &out, boost::json::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0;  // start of the run not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out += '"';
}

template <class Number>
void append_number(std::string &out, Number x) {
    char buffer[32];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, x);
    out.append(buffer, r.ptr);
}

// The shortest form that reads back exactly; null when not finite.
void append_double(std::string &out, double x) {
    if (!std::isfinite(x)) {
        out += "null";
        return;
    }
    char buffer[32];
    out.append(buffer, internal::write_shortest(x, buffer));
}

}  // namespace

void append_json(std::string &out, const boost::json::value &v) {
    switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: append_number(out, v.get_int64()); break;
    case boost::json::kind::uint64: append_number(out, v.get_uint64()); break;
    case boost::json::kind::double_: append_double(out, v.get_double()); break;
    case boost::json::kind::string: append_string(out, v.get_string()); break;
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto &x : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append_json(out, x);
        }
        out += ']';
        break;
    }
    case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto &kv : v.get_object()) {
            if (!first) out += ',';
            first = false;
            append_string(out, kv.key());
            out += ':';
            append_json(out, kv.value());
        }
        out += '}';
        break;
    }
    }
}

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ += ',';
        first_.back() = false;
    }
}

JsonWriter &JsonWriter::open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
}

JsonWriter &JsonWriter::close(char bracket) {
    out_ += bracket;
    first_.pop_back();
    return *this;
}

JsonWriter &JsonWriter::key(std::string_view k) {
    separate();
    append_string(out_, boost::json::string_view(k.data(), k.size()));
    out_ += ':';
    after_key_ = true;
    return *this;
}

JsonWriter &JsonWriter::value(std::string_view s) {
    separate();
    append_string(out_, boost::json::string_view(s.data(), s.size()));
    return *this;
}

JsonWriter &JsonWriter::value(double x) {
    separate();
    append_double(out_, x);
    return *this;
}

JsonWriter &JsonWriter::value(std::int64_t x) {
    separate();
    append_number(out_, x);
    return *this;
}

JsonWriter &JsonWriter::value(std::uint64_t x) {
    separate();
    append_number(out_, x);
    return *this;
}

JsonWriter &JsonWriter::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

JsonWriter &JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

JsonWriter &JsonWriter::strings(const std::vector<std::string> &v, std::size_t limit) {
    begin_array();
    for (std::size_t i = 0; i < v.size() && i < limit; ++i) value(v[i]);
    return end_array();
}

std::string json_text(const boost::json::value &v) {
    std::string out;
    out.reserve(256);
    append_json(out, v);
    return out;
}

}  // namespace coe
