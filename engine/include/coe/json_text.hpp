// json_text.hpp - JSON text the way people read it: numbers in their
// shortest round-trip form (0.0847, 1, 336491; 1e-07 only where that is
// shorter), never Boost.JSON's 8.47E-2 / 1E0.  Used for every report,
// event and metric document the engine, the consultation and the server
// write.  Non-finite doubles become null.  Stateless and thread-safe; throws
// only std::bad_alloc.  Needs the Boost.JSON headers (Boost 1.81).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace coe {

// `v` as compact JSON text (no whitespace), keys in their stored order.
std::string json_text(const boost::json::value &v);

// Appends `v` as compact JSON text to `out`.
void append_json(std::string &out, const boost::json::value &v);

// Writes the same text straight into a string, without building a document
// first: values are appended as they come and commas are placed for you.
//   JsonWriter w(out);
//   w.begin_object().key("id").value("q1").key("score").value(0.5).end_object();
// The text is gathered in the writer's own 4 KiB buffer and reaches `out`
// when the outermost container closes, after a value written outside any
// container, and at flush() (a writer left mid-document keeps the rest).
// Keys are only valid inside objects and values only after a key or inside
// arrays; the writer does not check this (its caller's code decides the
// shape).  At most 64 containers may be open at once (a report needs 4);
// opening one more throws std::length_error.  Not thread-safe; `out` must
// outlive the writer.
class JsonWriter {
public:
    explicit JsonWriter(std::string &out) : out_(out) {}
    JsonWriter(const JsonWriter &) = delete;
    JsonWriter &operator=(const JsonWriter &) = delete;
    JsonWriter &begin_object() { return open('{'); }
    JsonWriter &end_object() { return close('}'); }
    JsonWriter &begin_array() { return open('['); }
    JsonWriter &end_array() { return close(']'); }
    JsonWriter &key(std::string_view k);
    // A key written in the source, as in key("id"): checked inline, so for
    // a literal the compiler decides the check and the writer only copies.
    template <std::size_t N>
    JsonWriter &key(const char (&k)[N]) {
        const std::string_view text(k);
        return needs_no_escape(text) ? plain_key(text) : key(text);
    }
    JsonWriter &value(std::string_view s);
    JsonWriter &value(const char *s) { return value(std::string_view(s)); }
    JsonWriter &value(const std::string &s) { return value(std::string_view(s)); }
    JsonWriter &value(double x);          // non-finite: null
    JsonWriter &value(float x) = delete;  // say which precision: cast to double
    JsonWriter &value(std::int64_t x);
    JsonWriter &value(std::uint64_t x);
    JsonWriter &value(std::uint32_t x) { return value(static_cast<std::uint64_t>(x)); }
    JsonWriter &value(int x) { return value(static_cast<std::int64_t>(x)); }
    JsonWriter &value(bool b);
    JsonWriter &null();
    // An array of strings, the first `limit` of them.
    JsonWriter &strings(const std::vector<std::string> &v, std::size_t limit = SIZE_MAX);
    // Appends what the buffer holds to `out`.
    void flush();

private:
    friend struct JsonWriterSink;
    static constexpr bool needs_no_escape(std::string_view s) {
        for (const char c : s)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
        return true;
    }
    JsonWriter &plain_key(std::string_view k);  // k needs no escaping
    JsonWriter &open(char bracket);
    JsonWriter &close(char bracket);
    JsonWriter &done_value();  // flushes when no container is open
    char separator();          // ',' unless this is the first element of its container (or after a key); else 0
    void put(char c) {
        if (used_ == sizeof buffer_) flush();
        buffer_[used_++] = c;
    }
    void put(const char *p, std::size_t n);

    static constexpr unsigned max_depth = 64;
    std::string &out_;
    std::uint64_t empty_ = 0;  // bit k: the container open at depth k has nothing written in it yet
    unsigned depth_ = 0;       // containers open
    bool after_key_ = false;
    std::size_t used_ = 0;  // bytes of buffer_ not yet in out_
    char buffer_[4096];
};

}  // namespace coe
