#include "analysis/panel_reader.hpp"
#include "analysis/utf8_sequence.hpp"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coe/error.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace coe::detail {
namespace {

// The nesting the reader follows before it leaves a text to the document
// reader (Boost.JSON refuses beyond 32).
constexpr int max_depth = 30;

// The first byte at or after p that ends a plain run of string bytes: '"',
// '\\', a control character or a byte >= 0x80; `end` when there is none.
const unsigned char *next_special(const unsigned char *p, const unsigned char *end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        // signed: bytes >= 0x80 are negative, so "< 0x20" takes them too
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmplt_epi8(v, space));
        if (const int mask = _mm_movemask_epi8(hit)) return p + __builtin_ctz(static_cast<unsigned>(mask));
    }
#endif
    for (; p < end; ++p)
        if (*p == '"' || *p == '\\' || *p < 0x20 || *p >= 0x80) return p;
    return end;
}

void append_utf8(std::string &out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        const char b[2] = {static_cast<char>(0xc0 | cp >> 6), static_cast<char>(0x80 | (cp & 0x3f))};
        out.append(b, 2);
    } else if (cp < 0x10000) {
        const char b[3] = {static_cast<char>(0xe0 | cp >> 12), static_cast<char>(0x80 | (cp >> 6 & 0x3f)),
                           static_cast<char>(0x80 | (cp & 0x3f))};
        out.append(b, 3);
    } else {
        const char b[4] = {static_cast<char>(0xf0 | cp >> 18), static_cast<char>(0x80 | (cp >> 12 & 0x3f)),
                           static_cast<char>(0x80 | (cp >> 6 & 0x3f)), static_cast<char>(0x80 | (cp & 0x3f))};
        out.append(b, 4);
    }
}

// Powers of ten that doubles hold exactly.
constexpr double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// A number as the document reader sees it: an integer (Boost.JSON's int64)
// or a double.
struct Number {
    bool integer = false;
    std::int64_t whole = 0;  // when integer
    double value = 0;        // always
};

class Reader {
public:
    explicit Reader(std::string_view text)
        : p_(reinterpret_cast<const unsigned char *>(text.data())), end_(p_ + text.size()) {}

    bool read(Panel &out) {
        if (end_ - p_ >= 3 && p_[0] == 0xef && p_[1] == 0xbb && p_[2] == 0xbf) p_ += 3;  // byte order mark
        bool seen_id = false, seen_question = false, seen_responses = false;
        const bool ok = object(1, [&](std::string_view key) {
            if (key == "id") return once(seen_id) && optional([&] { return id(out.id); });
            if (key == "question") return once(seen_question) && optional([&] { return string(out.question); });
            if (key == "responses") return once(seen_responses) && responses(out.responses);
            return skip_value(2);
        });
        skip_whitespace();
        return ok && seen_responses && p_ == end_;
    }

private:
    static bool once(bool &seen) { return !std::exchange(seen, true); }

    void skip_whitespace() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }

    bool consume(char c) {
        skip_whitespace();
        if (p_ == end_ || *p_ != static_cast<unsigned char>(c)) return false;
        ++p_;
        return true;
    }

    bool peek(char c) {
        skip_whitespace();
        return p_ < end_ && *p_ == static_cast<unsigned char>(c);
    }

    bool literal(std::string_view word) {
        if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
            return false;
        p_ += word.size();
        return true;
    }

    // A null (the field then stays absent, as the document reader has it),
    // or what `read` reads.
    template <class Read>
    bool optional(Read &&read) {
        if (peek('n')) return literal("null");
        return read();
    }

    // {"key": value, ...}: calls field(key) with the reader at each value.
    template <class Field>
    bool object(int depth, Field &&field) {
        if (depth > max_depth || !consume('{')) return false;
        if (consume('}')) return true;
        do {
            skip_whitespace();
            if (!string(key_)) return false;
            if (!consume(':') || !field(std::string_view(key_))) return false;
        } while (consume(','));
        return consume('}');
    }

    // [value, ...]: calls element() with the reader at each value.
    template <class Element>
    bool array(int depth, Element &&element) {
        if (depth > max_depth || !consume('[')) return false;
        if (consume(']')) return true;
        do {
            if (!element()) return false;
        } while (consume(','));
        return consume(']');
    }

    // A JSON string into `out`, unescaped.  False on anything the document
    // reader would refuse and on lone surrogate escapes.
    bool string(std::string &out) {
        skip_whitespace();
        if (p_ == end_ || *p_ != '"') return false;
        const unsigned char *run = ++p_;
        bool escaped = false;  // `scratch_` holds the text up to `run`
        for (;;) {
            p_ = next_special(p_, end_);
            if (p_ == end_) return false;
            const unsigned char c = *p_;
            if (c == '"') break;
            if (c >= 0x80) {
                const std::size_t n = utf8_sequence(p_, end_);
                if (n == 0) return false;
                p_ += n;
                continue;
            }
            if (c != '\\') return false;  // a control character
            if (!escaped) scratch_.clear();
            escaped = true;
            scratch_.append(reinterpret_cast<const char *>(run), static_cast<std::size_t>(p_ - run));
            if (!escape(scratch_)) return false;
            run = p_;
        }
        const auto *text = reinterpret_cast<const char *>(run);
        const auto length = static_cast<std::size_t>(p_ - run);
        ++p_;  // the closing quote
        if (!escaped) {
            out.assign(text, length);
        } else {
            scratch_.append(text, length);
            out.assign(scratch_);
        }
        return true;
    }

    bool hex4(std::uint32_t &cp) {
        if (end_ - p_ < 4) return false;
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            const unsigned c = p_[k];
            const unsigned digit = c >= '0' && c <= '9'   ? c - '0'
                                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                          : 16;
            if (digit == 16) return false;
            cp = cp << 4 | digit;
        }
        p_ += 4;
        return true;
    }

    // The escape at p_ ('\\' ...) into `out`.
    bool escape(std::string &out) {
        if (end_ - p_ < 2) return false;
        const unsigned char c = p_[1];
        p_ += 2;
        switch (c) {
        case '"': out += '"'; return true;
        case '\\': out += '\\'; return true;
        case '/': out += '/'; return true;
        case 'b': out += '\b'; return true;
        case 'f': out += '\f'; return true;
        case 'n': out += '\n'; return true;
        case 'r': out += '\r'; return true;
        case 't': out += '\t'; return true;
        case 'u': break;
        default: return false;
        }
        std::uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate first
        if (cp >= 0xd800 && cp <= 0xdbff) {              // a high one: its low one must follow
            std::uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, cp);
        return true;
    }

    // The parts of a JSON number (RFC 8259's grammar), or false where the
    // text is not one.  m holds the digits, wrapping past 19 significant
    // ones (digits counts them).
    struct NumberText {
        bool negative = false, integer = true;
        std::uint64_t m = 0;
        int digits = 0, whole_digits = 0, fraction_digits = 0, exponent = 0;
    };
    bool number_text(NumberText &t) {
        skip_whitespace();
        t.negative = p_ < end_ && *p_ == '-';
        if (t.negative) ++p_;
        const auto digit_run = [&](int &count) {
            const unsigned char *from = p_;
            for (; p_ < end_ && *p_ >= '0' && *p_ <= '9'; ++p_) {
                if (t.m != 0 || *p_ != '0') ++t.digits;  // significant digits
                t.m = t.m * 10 + (*p_ - '0');            // wraps past 19 digits
            }
            count = static_cast<int>(p_ - from);
            return count > 0;
        };
        const unsigned char *first = p_;
        if (!digit_run(t.whole_digits) || (t.whole_digits > 1 && *first == '0')) return false;
        if (p_ < end_ && *p_ == '.') {
            ++p_;
            t.integer = false;
            if (!digit_run(t.fraction_digits)) return false;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            t.integer = false;
            bool negative_exponent = false;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) negative_exponent = *p_++ == '-';
            const unsigned char *from = p_;
            for (; p_ < end_ && *p_ >= '0' && *p_ <= '9'; ++p_)
                if (t.exponent < 10000) t.exponent = t.exponent * 10 + (*p_ - '0');
            if (p_ == from) return false;
            if (negative_exponent) t.exponent = -t.exponent;
        }
        return true;
    }

    // A JSON number, converted as Boost.JSON converts it: integers of up to
    // 18 digits as int64, others as m * 10^e with m < 2^53 and |e| <= 22
    // (then one correctly rounded operation, as Boost.JSON does).  False
    // for other numbers (and invalid ones).
    bool number(Number &out) {
        NumberText t;
        if (!number_text(t) || t.digits > 19) return false;
        if (t.integer) {
            if (t.whole_digits > 18 || (t.negative && t.m == 0)) return false;  // beyond int64, or -0
            out.integer = true;
            out.whole = t.negative ? -static_cast<std::int64_t>(t.m) : static_cast<std::int64_t>(t.m);
            out.value = static_cast<double>(out.whole);
            return true;
        }
        const int e = t.exponent - t.fraction_digits;
        if (t.m >= (std::uint64_t{1} << 53) || e < -22 || e > 22) return false;
        double x = static_cast<double>(t.m);
        if (t.negative) x = -x;
        out.integer = false;
        out.value = e < 0 ? x / exact_powers_of_ten[-e] : x * exact_powers_of_ten[e];
        return true;
    }

    // Any JSON value, checked and skipped.
    bool skip_value(int depth) {
        skip_whitespace();
        if (p_ == end_) return false;
        switch (*p_) {
        case '{': return object(depth, [&](std::string_view) { return skip_value(depth + 1); });
        case '[': return array(depth, [&] { return skip_value(depth + 1); });
        case '"': return string(skipped_);
        case 't': return literal("true");
        case 'f': return literal("false");
        case 'n': return literal("null");
        default: {  // a number no field reads: its syntax alone matters, whatever its value
            NumberText ignored;
            return number_text(ignored);
        }
        }
    }

    // "id": a string, or an integer kept as its decimal text.
    bool id(std::string &out) {
        if (peek('"')) return string(out);
        Number n;
        if (!number(n) || !n.integer) return false;
        out = std::to_string(n.whole);
        return true;
    }

    bool responses(std::vector<Response> &out) {
        return array(2, [&] {
            out.emplace_back();
            return response(out.back());
        });
    }

    bool strings(std::optional<std::vector<std::string>> &out) {
        out.emplace();
        return array(4, [&] {
            out->emplace_back();
            return string(out->back());
        });
    }

    bool embedding(std::vector<float> &out) {
        const bool ok = array(4, [&] {
            Number n;
            // finite (every number read here is) and within the float range
            if (!number(n) || std::fabs(n.value) > static_cast<double>(FLT_MAX)) return false;
            out.push_back(static_cast<float>(n.value));
            return true;
        });
        return ok && !out.empty();  // an empty one is an error, worded by the document reader
    }

    bool response(Response &r) {
        enum : unsigned { expert = 1, content = 2, confidence = 4, recommendations = 8, limitations = 16, vector = 32 };
        unsigned seen = 0;
        const auto first_time = [&](unsigned field) { return !(std::exchange(seen, seen | field) & field); };
        const bool ok = object(3, [&](std::string_view key) {
            if (key == "expert") return first_time(expert) && string(r.expert);
            if (key == "content") return first_time(content) && string(r.content);
            if (key == "confidence")
                return first_time(confidence) && optional([&] {
                           Number n;
                           if (!number(n)) return false;
                           r.confidence = n.value;
                           return true;
                       });
            if (key == "recommendations")
                return first_time(recommendations) && optional([&] { return strings(r.recommendations); });
            if (key == "limitations")
                return first_time(limitations) && optional([&] { return strings(r.limitations); });
            if (key == "embedding") return first_time(vector) && optional([&] { return embedding(r.embedding); });
            return skip_value(4);
        });
        return ok && (seen & expert) && (seen & content);
    }

    const unsigned char *p_;
    const unsigned char *end_;
    // per thread, reused from panel to panel
    static thread_local std::string key_, scratch_, skipped_;
};

thread_local std::string Reader::key_, Reader::scratch_, Reader::skipped_;

}  // namespace

bool read_panel_directly(std::string_view json, Panel &panel) { return Reader(json).read(panel); }

std::optional<Panel> read_valid_panel_directly(std::string_view json) {
    Panel panel;
    if (!read_panel_directly(json, panel)) return std::nullopt;
    try {
        validate(panel.view());
    } catch (const Error &) {
        return std::nullopt;
    }
    return panel;
}

}  // namespace coe::detail
