#include "coe/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/json.hpp>

#include "coe/internal/shortest_double.hpp"

namespace coe {
namespace {

// Whether JSON must escape byte c: '"', '\\' or a control character below 0x20.
constexpr std::array<bool, 256> make_escape_table() {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 0x20; ++c) t[c] = true;
    t['"'] = t['\\'] = true;
    return t;
}
constexpr std::array<bool, 256> must_escape = make_escape_table();

// The offset of the first byte of s[from, size) that JSON must escape, or
// size: 16 bytes per step where SSE2 is there, then 8 at a time (SWAR), then
// one.  Report texts are mostly long plain runs and short names.
std::size_t next_to_escape(const char *s, std::size_t from, std::size_t size) {
    std::size_t i = from;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control_max = _mm_set1_epi8(0x1f);
    for (; i + 16 <= size; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
        if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(__builtin_ctz(mask));
    }
#endif
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    for (; i + 8 <= size; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s + i, 8);
        // bytes < 0x20 (ASCII ones: bytes >= 0x80 never need escaping), '"', '\\'
        const std::uint64_t control = (w - ones * 0x20) & ~w & highs;
        if (control | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) break;
    }
    for (; i < size; ++i)
        if (must_escape[static_cast<unsigned char>(s[i])]) return i;
    return size;
}

// Where JSON text goes: a std::string, or a JsonWriter's buffer.
struct StringSink {
    std::string &out;
    void put(char c) { out += c; }
    void put(const char *p, std::size_t n) { out.append(p, n); }
};

// `s` quoted and escaped, from its first byte to escape, `first`, on.
template <class Sink>
void put_escaped(Sink &out, std::string_view s, std::size_t first) {
    static constexpr char hex[] = "0123456789abcdef";
    out.put('"');
    for (std::size_t plain = 0, i = first;;) {  // plain: start of the run not yet copied
        out.put(s.data() + plain, i - plain);
        if (i == s.size()) break;
        plain = i + 1;
        switch (const auto c = static_cast<unsigned char>(s[i])) {
        case '"': out.put("\\\"", 2); break;
        case '\\': out.put("\\\\", 2); break;
        case '\n': out.put("\\n", 2); break;
        case '\r': out.put("\\r", 2); break;
        case '\t': out.put("\\t", 2); break;
        case '\b': out.put("\\b", 2); break;
        case '\f': out.put("\\f", 2); break;
        default: {
            const char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out.put(escape, 6);
        }
        }
        i = next_to_escape(s.data(), plain, s.size());
    }
    out.put('"');
}

// `before` (0: nothing), `s` quoted and escaped, then `after` (0: nothing).
template <class Sink>
void put_string(Sink &out, std::string_view s, char before = 0, char after = 0) {
    if (before) out.put(before);
    put_escaped(out, s, next_to_escape(s.data(), 0, s.size()));
    if (after) out.put(after);
}

// `before` (0: nothing) and then the number.
template <class Sink, class Number>
void put_number(Sink &out, Number x, char before = 0) {
    char buffer[40];
    char *p = buffer;
    if (before) *p++ = before;
    out.put(buffer, static_cast<std::size_t>(std::to_chars(p, buffer + sizeof buffer, x).ptr - buffer));
}

// The shortest form that reads back exactly; null when not finite.
template <class Sink>
void put_double(Sink &out, double x, char before = 0) {
    char buffer[40];
    char *p = buffer;
    if (before) *p++ = before;
    if (!std::isfinite(x)) {
        std::memcpy(p, "null", 4);
        out.put(buffer, static_cast<std::size_t>(p + 4 - buffer));
        return;
    }
    out.put(buffer, static_cast<std::size_t>(internal::write_shortest(x, p) - buffer));
}

}  // namespace

void append_json(std::string &text, const boost::json::value &v) {
    StringSink out{text};
    switch (v.kind()) {
    case boost::json::kind::null: out.put("null", 4); break;
    case boost::json::kind::bool_: v.get_bool() ? out.put("true", 4) : out.put("false", 5); break;
    case boost::json::kind::int64: put_number(out, v.get_int64()); break;
    case boost::json::kind::uint64: put_number(out, v.get_uint64()); break;
    case boost::json::kind::double_: put_double(out, v.get_double()); break;
    case boost::json::kind::string: put_string(out, {v.get_string().data(), v.get_string().size()}); break;
    case boost::json::kind::array: {
        text += '[';
        bool first = true;
        for (const auto &x : v.get_array()) {
            if (!first) text += ',';
            first = false;
            append_json(text, x);
        }
        text += ']';
        break;
    }
    case boost::json::kind::object: {
        text += '{';
        bool first = true;
        for (const auto &kv : v.get_object()) {
            if (!first) text += ',';
            first = false;
            put_string(out, {kv.key().data(), kv.key().size()});
            text += ':';
            append_json(text, kv.value());
        }
        text += '}';
        break;
    }
    }
}

// JsonWriter's buffer as a sink of the helpers above.
struct JsonWriterSink {
    JsonWriter &w;
    void put(char c) { w.put(c); }
    void put(const char *p, std::size_t n) { w.put(p, n); }
};

void JsonWriter::put(const char *p, std::size_t n) {
    if (n == 0) return;  // p may be null (an empty view)
    if (n > sizeof buffer_ - used_) {
        flush();
        if (n > sizeof buffer_) {
            out_.append(p, n);
            return;
        }
    }
    std::memcpy(buffer_ + used_, p, n);
    used_ += n;
}

void JsonWriter::flush() {
    out_.append(buffer_, used_);
    used_ = 0;
}

JsonWriter &JsonWriter::done_value() {
    if (depth_ == 0) flush();
    return *this;
}

char JsonWriter::separator() {
    if (after_key_) {
        after_key_ = false;
        return 0;
    }
    if (depth_ == 0) return 0;
    const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
    const bool empty = (empty_ & bit) != 0;
    empty_ &= ~bit;
    return empty ? 0 : ',';
}

JsonWriter &JsonWriter::open(char bracket) {
    if (depth_ == max_depth) throw std::length_error("JsonWriter: more than 64 nested containers");
    if (const char comma = separator()) put(comma);
    put(bracket);
    empty_ |= std::uint64_t{1} << depth_++;
    return *this;
}

JsonWriter &JsonWriter::close(char bracket) {
    put(bracket);
    --depth_;
    return done_value();
}

JsonWriter &JsonWriter::key(std::string_view k) {
    JsonWriterSink sink{*this};
    put_string(sink, k, separator(), ':');
    after_key_ = true;
    return *this;
}

JsonWriter &JsonWriter::plain_key(std::string_view k) {
    if (const char comma = separator()) put(comma);
    put('"');
    put(k.data(), k.size());
    put('"');
    put(':');
    after_key_ = true;
    return *this;
}

JsonWriter &JsonWriter::value(std::string_view s) {
    JsonWriterSink sink{*this};
    put_string(sink, s, separator());
    return done_value();
}

JsonWriter &JsonWriter::value(double x) {
    JsonWriterSink sink{*this};
    put_double(sink, x, separator());
    return done_value();
}

JsonWriter &JsonWriter::value(std::int64_t x) {
    JsonWriterSink sink{*this};
    put_number(sink, x, separator());
    return done_value();
}

JsonWriter &JsonWriter::value(std::uint64_t x) {
    JsonWriterSink sink{*this};
    put_number(sink, x, separator());
    return done_value();
}

JsonWriter &JsonWriter::value(bool b) {
    if (const char comma = separator()) put(comma);
    b ? put("true", 4) : put("false", 5);
    return done_value();
}

JsonWriter &JsonWriter::null() {
    if (const char comma = separator()) put(comma);
    put("null", 4);
    return done_value();
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
