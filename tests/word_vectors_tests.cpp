// The word-vector file: converting wink's JSON, mapping and validating the
// file, refusing damaged files and bad JSON by name, and the search path.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "coe/error.hpp"
#include "coe/word_vectors.hpp"
#include "features/word_table.hpp"
#include "features/word_vectors_file.hpp"
#include "features/word_vectors_format.hpp"
#include "features/word_vectors_table_check.hpp"

using namespace coe;
namespace fs = std::filesystem;
namespace format = coe::detail::word_vectors_format;

namespace {

// A folder of its own for each test, removed afterwards.
struct TempFolder {
    fs::path path;
    explicit TempFolder(const std::string &name) {
        path = fs::temp_directory_path() / ("coe-word-vectors-test-" + std::to_string(::getpid()) + "-" + name);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string operator/(const std::string &name) const { return (path / name).string(); }
};

struct ScopedEnv {
    std::string name;
    bool had = false;
    std::string old;
    ScopedEnv(std::string n, const char *value) : name(std::move(n)) {
        if (const char *v = std::getenv(name.c_str())) {
            had = true;
            old = v;
        }
        if (value) ::setenv(name.c_str(), value, 1);
        else ::unsetenv(name.c_str());
    }
    ~ScopedEnv() {
        if (had) ::setenv(name.c_str(), old.c_str(), 1);
        else ::unsetenv(name.c_str());
    }
};

void write_text(const std::string &file, const std::string &text) {
    std::ofstream out(file, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

std::vector<unsigned char> read_bytes(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string &file, const std::vector<unsigned char> &bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string json_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

// A source word: its bytes (as JSON spells them), its index, its values.
struct SourceWord {
    std::string word;
    std::uint32_t index;
    std::vector<double> values;
};

// wink's shape: metadata, "words" by index, "vectors" in the given order,
// each [values..., norm, index], and "unkVector".
std::string wink_json(const std::vector<SourceWord> &entries, std::uint32_t dims, bool with_words = true) {
    std::vector<std::string> by_index(entries.size());
    for (const auto &e : entries) by_index.at(e.index) = e.word;
    std::ostringstream j;
    j << "{\"precision\":8,\"l2NormIndex\":" << dims << ",\"wordIndex\":" << dims + 1 << ",\"size\":" << entries.size()
      << ",\"dimensions\":" << dims;
    if (with_words) {
        j << ",\"words\":[";
        for (std::size_t i = 0; i < by_index.size(); ++i) j << (i ? "," : "") << '"' << by_index[i] << '"';
        j << "]";
    }
    j << ",\"vectors\":{";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto &e = entries[i];
        double norm = 0;
        j << (i ? "," : "") << '"' << e.word << "\":[";
        for (double v : e.values) {
            j << json_number(v) << ",";
            norm += v * v;
        }
        j << json_number(std::sqrt(norm)) << "," << e.index << "]";
    }
    j << "},\"unkVector\":[";
    for (std::uint32_t d = 0; d < dims; ++d) j << "0,";
    j << "0,-1]}";
    return j.str();
}

// The JSON spelling -> the bytes (only the escapes used below).
std::string unescape(const std::string &w) { return w == "\\\"" ? "\"" : w; }

const std::vector<SourceWord> &sample_words() {
    // vectors deliberately out of index order; words that no token can equal
    // among them: punctuation, one byte, upper case, a hyphen, an escape
    static const std::vector<SourceWord> words = {
        {"cat", 4, {0.1, -0.2, 0.3}},      {"the", 0, {-0.038194, -0.24487, 0.72812}},
        {",", 1, {0.5, 0.25, -0.125}},     {"caf\u00e9", 7, {1.2345678, -3.14159265, 2.71828182}},
        {"2024", 3, {1e-6, -1e-7, 65504}}, {"a", 2, {0.33333333, 0.66666667, -0.99999}},
        {"Paris", 5, {1, 2, 3}},           {"cross-country", 6, {-1, -2, -3}},
        {"\\\"", 8, {0.7, 0.8, 0.9}},      {"na\u00efve", 9, {-0.001, 0.0001, 4.0666}},
        {"dog", 10, {0.11, 0.22, 0.33}},
    };
    return words;
}

bool can_be_token(const std::string &w) {
    if (w.size() < 2) return false;
    for (unsigned char c : w)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)) return false;
    return true;
}

// Converts the sample into `folder`; returns the file's path.
std::string sample_file(const TempFolder &folder, WordVectorsImport *stats = nullptr) {
    write_text(folder / "sample.json", wink_json(sample_words(), 3));
    const WordVectorsImport s = import_word_vectors(folder / "sample.json", folder / "sample.coewv");
    if (stats) *stats = s;
    return folder / "sample.coewv";
}

// The message of the coe::Error that opening `file` throws ("" if none).
std::string open_error(const std::string &file) {
    try {
        detail::WordVectorsFile::open(file);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

std::string import_error(const std::string &json_file, const std::string &out_file) {
    try {
        import_word_vectors(json_file, out_file);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

format::Header header_of(const std::vector<unsigned char> &bytes) {
    format::Header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
}

// After editing the payload: the header's checksum made right again, so
// that the structural checks behind it are reached.
void reseal(std::vector<unsigned char> &bytes) {
    format::Header h = header_of(bytes);
    h.checksum = format::checksum(bytes.data() + 64, bytes.size() - 64);
    std::memcpy(bytes.data(), &h, sizeof h);
}

}  // namespace

TEST_CASE("the checksum is XXH64 with seed 0") {
    // reference values of xxHash's XXH64
    CHECK(format::checksum("", 0) == 0xEF46DB3751D8E999ull);
    CHECK(format::checksum("a", 1) == 0xD24EC4F1A98C6E5Bull);
    CHECK(format::checksum("abc", 3) == 0x44BC2CF5AD770999ull);
    // every tail length after whole stripes gives a different sum
    std::vector<unsigned char> data(100);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 7 + 1);
    std::vector<std::uint64_t> sums;
    for (std::size_t n = 0; n <= data.size(); ++n) sums.push_back(format::checksum(data.data(), n));
    std::sort(sums.begin(), sums.end());
    CHECK(std::adjacent_find(sums.begin(), sums.end()) == sums.end());
}

TEST_CASE("the checksum over pieces equals the checksum of the whole") {
    std::vector<unsigned char> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 13 + 5);
    for (std::size_t size : {0, 5, 31, 32, 33, 64, 100, 1000}) {
        const std::uint64_t whole = format::checksum(data.data(), size);
        for (std::size_t a = 0; a <= size; a += (size > 100 ? 37 : 1))
            for (std::size_t b = a; b <= size; b += (size > 100 ? 41 : 3)) {
                format::Checksum pieces;
                pieces.add(data.data(), a);
                pieces.add(data.data() + a, b - a);
                pieces.add(data.data() + b, size - b);
                REQUIRE_MESSAGE(pieces.finish() == whole, "size " << size << " cut at " << a << " and " << b);
            }
    }
}

TEST_CASE("import: kept words in index order, each found with its binary16 values; the others counted") {
    TempFolder folder("roundtrip");
    WordVectorsImport stats;
    const std::string file = sample_file(folder, &stats);

    std::vector<SourceWord> kept;
    for (const auto &w : sample_words())
        if (can_be_token(unescape(w.word))) kept.push_back(w);
    std::sort(kept.begin(), kept.end(), [](const SourceWord &a, const SourceWord &b) { return a.index < b.index; });
    double max_error = 0;
    for (const auto &w : kept)
        for (double v : w.values)
            max_error = std::max(max_error, std::fabs(detail::half_to_float(detail::float_to_half(float(v))) - v));

    CHECK(stats.words_read == sample_words().size());
    CHECK(stats.words_kept == kept.size());
    CHECK(stats.words_dropped == sample_words().size() - kept.size());
    CHECK(stats.words_dropped == 5);
    CHECK(stats.dims == 3);
    CHECK(stats.bytes_written == fs::file_size(file));
    CHECK(stats.max_rounding_error == max_error);
    CHECK(stats.max_rounding_error > 0);

    const auto f = detail::WordVectorsFile::open(file);
    CHECK(f.dims() == 3);
    REQUIRE(f.word_count() == kept.size());
    CHECK(f.path() == file);
    CHECK(f.open_time().count() > 0);
    const std::vector<float> weights(f.word_count(), 1.0f);
    const coe_word_table t = f.table(weights.data());
    CHECK(t.struct_size == sizeof t);
    CHECK(t.weights == weights.data());
    CHECK(t.slot_count > t.word_count);
    for (std::uint32_t r = 0; r < kept.size(); ++r) {
        CAPTURE(kept[r].word);
        CHECK(f.word(r) == kept[r].word);  // rows by index: "the" (0), "2024" (3), "cat" (4), ...
        REQUIRE(detail::find_word(t, kept[r].word) == r);
        for (std::uint32_t d = 0; d < 3; ++d)
            CHECK(t.values[r * 3 + d] == detail::float_to_half(static_cast<float>(kept[r].values[d])));
    }
    CHECK(f.word(0) == "the");
    for (const char *dropped : {",", "a", "Paris", "paris", "cross-country", "\"", "unknown"})
        CHECK(detail::find_word(t, dropped) == -1);

    // every section at a multiple of 64 bytes, as the header says
    const auto bytes = read_bytes(file);
    const format::Header h = header_of(bytes);
    const format::Layout at = format::layout(h.word_count, h.slot_count, h.words_bytes, h.dims);
    for (std::uint64_t offset : {at.slots, at.word_offsets, at.words, at.values}) CHECK(offset % 64 == 0);
    CHECK(at.end == bytes.size());
    CHECK(h.payload_bytes == bytes.size() - 64);
    CHECK(h.reserved == 0);

    const WordVectorsInfo info = inspect_word_vectors(file);
    CHECK(info.dims == 3);
    CHECK(info.words == kept.size());
    CHECK(info.bytes == bytes.size());
    CHECK(info.checksum == h.checksum);
}

TEST_CASE("import: a JSON larger than a read chunk, and an error past the first chunk by line") {
    TempFolder folder("large");
    const std::uint32_t dims = 64, count = 12000;
    std::vector<SourceWord> words;
    for (std::uint32_t i = 0; i < count; ++i) {
        SourceWord w{"w" + std::to_string(i), i, {}};
        for (std::uint32_t d = 0; d < dims; ++d) w.values.push_back(std::sin(i * 0.37 + d) * 1.7);
        words.push_back(std::move(w));
    }
    std::string json = wink_json(words, dims);
    REQUIRE(json.size() > (8u << 20));
    write_text(folder / "large.json", json);
    const WordVectorsImport s = import_word_vectors(folder / "large.json", folder / "large.coewv");
    CHECK(s.words_kept == count);
    const auto f = detail::WordVectorsFile::open(folder / "large.coewv");
    const std::vector<float> weights(f.word_count(), 1.0f);
    const coe_word_table t = f.table(weights.data());
    for (std::uint32_t i = 0; i < count; i += 997) {
        REQUIRE(detail::find_word(t, words[i].word) == i);
        for (std::uint32_t d = 0; d < dims; ++d)
            CHECK(t.values[i * dims + d] == detail::float_to_half(static_cast<float>(words[i].values[d])));
    }

    // one vector a line; a syntax error on the last line
    std::string lines;
    for (char c : json) {
        lines += c;
        if (c == ']') lines += '\n';
    }
    const std::size_t newlines = static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
    lines.insert(lines.rfind('}'), "x");
    write_text(folder / "bad.json", lines);
    const std::string e = import_error(folder / "bad.json", folder / "bad.coewv");
    CHECK(e.find(folder / "bad.json" + ":" + std::to_string(newlines + 1) + ":") == 0);
    CHECK(e.find("invalid JSON") != std::string::npos);
}

namespace {

// The table check over `bytes` (a whole file) fed in pieces of random
// multiples of 8 bytes, as the buffered read of WordVectorsFile::open feeds
// it whole buffers: the same problem whatever the cut.
std::string table_problem(const std::vector<unsigned char> &bytes, unsigned seed) {
    const format::Header h = header_of(bytes);
    const format::Layout at = format::layout(h.word_count, h.slot_count, h.words_bytes, h.dims);
    const std::string whole = [&] {
        detail::WordVectorsTableCheck check(h.word_count, h.slot_count, h.words_bytes, at);
        check.add(0, bytes.data(), bytes.size());
        return check.problem();
    }();
    detail::WordVectorsTableCheck check(h.word_count, h.slot_count, h.words_bytes, at);
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::size_t at_byte = 0; at_byte < bytes.size();) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const std::size_t piece = std::min<std::size_t>(8 * (1 + (state >> 33) % 3000), bytes.size() - at_byte);
        check.add(at_byte, bytes.data() + at_byte, piece);
        at_byte += piece;
    }
    CHECK(check.problem() == whole);
    return whole;
}

}  // namespace

TEST_CASE("open: the slot and offset tables are checked from the buffered read, past its first buffer too") {
    TempFolder folder("tables");
    const std::uint32_t dims = 4, count = 70000;  // tables of 1 MiB + 280 KB: several 256 KiB buffers
    std::vector<SourceWord> words;
    for (std::uint32_t i = 0; i < count; ++i) words.push_back({"w" + std::to_string(i), i, {0.5, -0.25, 0.125, 1}});
    write_text(folder / "tables.json", wink_json(words, dims));
    import_word_vectors(folder / "tables.json", folder / "tables.coewv");
    const std::vector<unsigned char> bytes = read_bytes(folder / "tables.coewv");
    const format::Header h = header_of(bytes);
    const format::Layout at = format::layout(h.word_count, h.slot_count, h.words_bytes, h.dims);
    REQUIRE(at.words - at.slots > 4 * (std::size_t{256} << 10));
    CHECK(table_problem(bytes, 1).empty());
    CHECK(open_error(folder / "tables.coewv").empty());

    auto damaged = [&](const std::string &name, std::vector<unsigned char> b, const std::string &expected) {
        for (unsigned seed = 1; seed <= 5; ++seed) CHECK(table_problem(b, seed) == expected);
        reseal(b);
        const std::string file = folder / (name + ".coewv");
        write_bytes(file, b);
        CHECK(open_error(file) == file + ": " + expected);
    };
    auto slot_row = [&](const std::vector<unsigned char> &b, std::uint32_t s) {
        std::uint32_t row_plus_1;
        std::memcpy(&row_plus_1, b.data() + at.slots + 8ull * s, 4);
        return row_plus_1;
    };
    auto set_slot = [&](std::vector<unsigned char> &b, std::uint32_t s, std::uint32_t row_plus_1) {
        std::memcpy(b.data() + at.slots + 8ull * s, &row_plus_1, 4);
    };
    auto set_offset = [&](std::vector<unsigned char> &b, std::uint32_t row, std::uint32_t offset) {
        std::memcpy(b.data() + at.word_offsets + 4ull * row, &offset, 4);
    };
    auto offset_of = [&](std::uint32_t row) {
        std::uint32_t v;
        std::memcpy(&v, bytes.data() + at.word_offsets + 4ull * row, 4);
        return v;
    };
    {  // the last used slot (in the last buffer of the table) and one before it
        std::uint32_t last = h.slot_count - 1, earlier = h.slot_count / 2;
        while (slot_row(bytes, last) == 0) --last;
        while (slot_row(bytes, earlier) == 0) --earlier;
        std::vector<unsigned char> b = bytes;
        set_slot(b, last, h.word_count + 7);
        damaged("last-slot", b,
                "slot " + std::to_string(last) + " names row " + std::to_string(h.word_count + 6) +
                    ", past the last row (" + std::to_string(h.word_count) + " words)");
        set_slot(b, earlier, h.word_count + 1);
        damaged("two-slots", b,
                "slot " + std::to_string(earlier) + " names row " + std::to_string(h.word_count) +
                    ", past the last row (" + std::to_string(h.word_count) + " words)");
    }
    {  // every free slot used (by row 0)
        std::vector<unsigned char> b = bytes;
        for (std::uint32_t s = 0; s < h.slot_count; ++s)
            if (slot_row(b, s) == 0) set_slot(b, s, 1);
        damaged("full", b, "no free slot in the vocabulary");
    }
    for (std::uint32_t row : {1u, 32768u, 65535u, count - 1}) {  // offsets that decrease, near and far
        std::vector<unsigned char> b = bytes;
        set_offset(b, row, offset_of(row + 1) + 1);
        damaged("decrease", b,
                "word_offsets decrease at row " + std::to_string(row) + " (" + std::to_string(offset_of(row + 1) + 1) +
                    " then " + std::to_string(offset_of(row + 1)) + ")");
    }
    {  // the first offset, then one that decreases too: the first named
        std::vector<unsigned char> b = bytes;
        set_offset(b, 0, 3);
        set_offset(b, count - 1, offset_of(count) + 1);
        damaged("first", b, "word_offsets[0] is 3, not 0");
    }
    {
        std::vector<unsigned char> b = bytes;
        set_offset(b, count, static_cast<std::uint32_t>(h.words_bytes + 1));
        damaged("end", b,
                "word_offsets end at " + std::to_string(h.words_bytes + 1) + ", past words_bytes " +
                    std::to_string(h.words_bytes));
    }
}

TEST_CASE("import: bad JSON inputs are named errors, and nothing is written") {
    TempFolder folder("badjson");
    const std::string out = folder / "out.coewv";
    struct Case {
        const char *name;
        std::string json;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"syntax", R"({"vectors":{"ab":[1,2,]}})", ":1:23: invalid JSON"},
        {"truncated", R"({"vectors":{"ab":[1,2)", ": invalid JSON"},
        {"extra", R"({"vectors":{"ab":[1,2,0]}} x)", ":1:28: invalid JSON"},
        {"empty", "", ":1:1: invalid JSON"},
        {"not an object", "[1,2]", ": the top level is not an object"},
        {"no vectors", R"({"words":["ab"]})", ": no field 'vectors'"},
        {"no words", R"({"vectors":{}})", ": field 'vectors' is empty"},
        {"vectors not an object", R"({"vectors":[]})", ": field 'vectors' is an array"},
        {"vector not an array", R"({"vectors":{"ab":"x"}})", ": word 'ab': the vector is a string, not an array"},
        {"short vector", R"({"dimensions":3,"vectors":{"ab":[1,2,3,0]}})",
         ": word 'ab': the vector has 4 values, expected 5 (field 'dimensions' says 3, then the L2 norm and the "
         "index): inconsistent dimensions"},
        {"inconsistent dims", R"({"vectors":{"ab":[1,2,3,9,0],"cd":[1,2,3,4,9,1]}})",
         ": word 'cd': the vector has 6 values, expected 5 (the first vector ('ab') has 3 dimensions"},
        {"dimensions field disagrees", R"({"vectors":{"ab":[1,2,9,0]},"dimensions":3})",
         ": field 'dimensions' is 3, but the first vector ('ab') has 2 dimensions: inconsistent dimensions"},
        {"not a number", R"({"vectors":{"ab":[1,"x",9,0]}})", ": word 'ab': value 1 is a string, not a number"},
        {"null", R"({"vectors":{"ab":[1,null,9,0]}})", ": word 'ab': value 1 is null, not a number"},
        {"nested", R"({"vectors":{"ab":[1,[2],9,0]}})", ": word 'ab': value 1 is an array, not a number"},
        {"index not whole", R"({"vectors":{"ab":[1,2,9,0.5]}})", ": word 'ab': index 0.5 is not a whole number"},
        {"negative index", R"({"vectors":{"ab":[1,2,9,-1]}})", ": word 'ab': index -1 is not a whole number"},
        {"index repeated", R"({"vectors":{"ab":[1,2,9,0],"cd":[1,2,9,0]}})",
         ": word 'cd': index 0 is also the index of 'ab'"},
        {"word repeated", R"({"vectors":{"ab":[1,2,9,0],"ab":[1,2,9,1]}})", "word 'ab' is repeated"},
        {"words disagree", R"({"words":["ab","xy"],"vectors":{"ab":[1,2,9,0],"cd":[1,2,9,1]}})",
         ": word 'cd': index 1, but words[1] is 'xy'"},
        {"words count", R"({"words":["ab"],"vectors":{"ab":[1,2,9,0],"cd":[1,2,9,1]}})",
         ": field 'words' has 1 words, but 'vectors' has 2"},
        {"size disagrees", R"({"size":3,"vectors":{"ab":[1,2,9,0]}})", ": field 'size' is 3, but 'vectors' has 1"},
        {"l2NormIndex", R"({"l2NormIndex":0,"vectors":{"ab":[1,2,9,0]}})", ": field 'l2NormIndex' is 0, expected 2"},
        {"wordIndex", R"({"wordIndex":2,"vectors":{"ab":[1,2,9,0]}})", ": field 'wordIndex' is 2, expected 3"},
        {"dimensions not a number", R"({"dimensions":"3","vectors":{}})", ": field 'dimensions' is a string"},
        {"too many dimensions", R"({"dimensions":5000,"vectors":{}})",
         ": field 'dimensions': 5000 dimensions is outside 1..4096"},
        {"out of binary16 range", R"({"vectors":{"ab":[1,70000,9,0]}})",
         ": word 'ab': value 1 (70000) is outside binary16's range"},
        {"nothing to keep", R"({"vectors":{"a":[1,2,9,0],"A-b":[1,2,9,1]}})",
         ": no word can be a token (2 read, all dropped): empty vocabulary"},
    };
    for (const auto &c : cases) {
        CAPTURE(c.name);
        const std::string in = folder / (std::string(c.name) + ".json");
        write_text(in, c.json);
        const std::string e = import_error(in, out);
        CHECK_MESSAGE(e.rfind(in, 0) == 0, e);
        CHECK_MESSAGE(e.find(c.expect) != std::string::npos, e);
    }
    CHECK(import_error(folder / "missing.json", out) ==
          folder / "missing.json" + ": cannot open: No such file or directory");
    // nothing written, no temporary file left behind
    for (const auto &entry : fs::directory_iterator(folder.path))
        CHECK_MESSAGE(entry.path().extension() == ".json", entry.path());

    // an unwritable destination is named
    write_text(folder / "ok.json", R"({"vectors":{"ab":[1,2,9,0]}})");
    const std::string e = import_error(folder / "ok.json", folder / "no-such-folder/out.coewv");
    CHECK(e.rfind(folder / "no-such-folder/out.coewv: cannot create a temporary file", 0) == 0);
}

TEST_CASE("import replaces an existing file whole") {
    TempFolder folder("replace");
    const std::string file = sample_file(folder);
    write_text(folder / "small.json", R"({"vectors":{"ab":[1,2,9,0]}})");
    import_word_vectors(folder / "small.json", file);
    const auto f = detail::WordVectorsFile::open(file);
    CHECK(f.word_count() == 1);
    CHECK(f.dims() == 2);
    CHECK(f.word(0) == "ab");
}

TEST_CASE("open: every kind of damage is a named error") {
    TempFolder folder("corrupt");
    const std::string good = sample_file(folder);
    const std::vector<unsigned char> bytes = read_bytes(good);
    const format::Header h = header_of(bytes);
    const format::Layout at = format::layout(h.word_count, h.slot_count, h.words_bytes, h.dims);
    CHECK(open_error(good).empty());

    auto damaged = [&](const std::string &name, std::vector<unsigned char> b) {
        const std::string file = folder / name;
        write_bytes(file, b);
        const std::string e = open_error(file);
        CHECK_MESSAGE(e.rfind(file + ": ", 0) == 0, e);
        return e;
    };
    auto with_header = [&](auto edit) {
        std::vector<unsigned char> b = bytes;
        format::Header x = h;
        edit(x);
        std::memcpy(b.data(), &x, sizeof x);
        return b;
    };

    for (std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{63}}) {
        CAPTURE(size);
        const std::string e = damaged("short", {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)});
        CHECK(e.find("truncated: " + std::to_string(size) + " bytes, shorter than the 64-byte header") !=
              std::string::npos);
    }
    for (std::uint64_t size : {std::uint64_t{64}, at.word_offsets + 4, at.words, at.values + 2, at.end - 1}) {
        CAPTURE(size);
        const std::string e = damaged("cut", {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)});
        CHECK(e.find("truncated: the header promises") != std::string::npos);
    }
    CHECK(damaged("magic", with_header([](format::Header &x) { x.magic[0] = 'X'; })).find("wrong magic") !=
          std::string::npos);
    CHECK(damaged("version", with_header([](format::Header &x) { x.version = 2; }))
              .find("version 2 not supported (this engine reads version 1)") != std::string::npos);
    CHECK(damaged("header-size", with_header([](format::Header &x) { x.header_size = 128; }))
              .find("header size 128 not supported") != std::string::npos);
    CHECK(damaged("value-type", with_header([](format::Header &x) { x.value_type = 2; }))
              .find("value type 2 not supported") != std::string::npos);
    CHECK(damaged("dims-0", with_header([](format::Header &x) { x.dims = 0; })).find("dims 0 is outside 1..4096") !=
          std::string::npos);
    CHECK(damaged("dims-big", with_header([](format::Header &x) { x.dims = 5000; }))
              .find("dims 5000 is outside 1..4096") != std::string::npos);
    CHECK(damaged("reserved", with_header([](format::Header &x) { x.reserved = 1; })).find("reserved") !=
          std::string::npos);
    CHECK(damaged("slot-count", with_header([](format::Header &x) { x.slot_count = 3; }))
              .find("slot_count 3 is not a power of two above word_count") != std::string::npos);
    CHECK(damaged("words-bytes", with_header([](format::Header &x) { x.words_bytes += 64; }))
              .find("truncated: the sections need") != std::string::npos);
    CHECK(damaged("dims-smaller", with_header([](format::Header &x) { x.dims = 1; }))
              .find("payload size mismatch: the sections end at byte") != std::string::npos);

    // the header promises less than the file holds
    std::vector<unsigned char> longer = bytes;
    longer.insert(longer.end(), 64, 0);
    CHECK(damaged("longer", longer).find("payload size mismatch: the header says " + std::to_string(h.payload_bytes)) !=
          std::string::npos);
    CHECK(damaged("payload-bytes", with_header([](format::Header &x) { x.payload_bytes -= 2; }))
              .find("payload size mismatch") != std::string::npos);

    // one flipped bit in the values, in the words, in the slots
    for (std::uint64_t where : {at.values + 5, at.words + 1, at.slots + 17}) {
        std::vector<unsigned char> b = bytes;
        b[where] ^= 0x10;
        CHECK(damaged("bit", b).find("checksum mismatch: the header says") != std::string::npos);
    }

    // structural damage behind a checksum made right again
    {
        std::vector<unsigned char> b = bytes;
        std::uint32_t s = 0;
        while (true) {  // the first used slot
            std::uint32_t row_plus_1;
            std::memcpy(&row_plus_1, b.data() + at.slots + 8ull * s, 4);
            if (row_plus_1 != 0) break;
            ++s;
        }
        const std::uint32_t past = h.word_count + 1;
        std::memcpy(b.data() + at.slots + 8ull * s, &past, 4);
        reseal(b);
        CHECK(damaged("slot-row", b)
                  .find("slot " + std::to_string(s) + " names row " + std::to_string(h.word_count) +
                        ", past the last row") != std::string::npos);
    }
    {
        std::vector<unsigned char> b = bytes;
        std::uint32_t offsets[3];
        std::memcpy(offsets, b.data() + at.word_offsets, sizeof offsets);
        offsets[1] = offsets[2] + 1;
        std::memcpy(b.data() + at.word_offsets, offsets, sizeof offsets);
        reseal(b);
        CHECK(damaged("offsets", b).find("word_offsets decrease at row 1") != std::string::npos);
    }
    {
        std::vector<unsigned char> b = bytes;
        const std::uint32_t past = static_cast<std::uint32_t>(h.words_bytes + 1);
        std::memcpy(b.data() + at.word_offsets + 4ull * h.word_count, &past, 4);
        reseal(b);
        CHECK(damaged("offsets-end", b).find("past words_bytes") != std::string::npos);
    }
    CHECK(open_error(folder / "absent.coewv") == folder / "absent.coewv" + ": cannot open: No such file or directory");
    CHECK(open_error(folder.path.string()) == folder.path.string() + ": not a regular file");
}

TEST_CASE("the search path: only COE_DATA_DIR when set, else the build tree, then the user cache") {
    TempFolder folder("search");
    {
        ScopedEnv data("COE_DATA_DIR", folder.path.c_str());
        auto places = word_vectors_search_path();
        REQUIRE(places.size() == 1);
        CHECK(places[0].source == "COE_DATA_DIR");
        CHECK(places[0].file == folder / "word-vectors.coewv");
        CHECK(places[0].missing == "no such file");
        sample_file(folder);
        fs::rename(folder / "sample.coewv", folder / "word-vectors.coewv");
        places = word_vectors_search_path();
        REQUIRE(places.size() == 1);
        CHECK(places[0].missing.empty());
        CHECK(inspect_word_vectors(places[0].file).words == 6);
    }
    {
        ScopedEnv data("COE_DATA_DIR", "");
        ScopedEnv cache("COE_CACHE_DIR", folder.path.c_str());
        const auto places = word_vectors_search_path();
        REQUIRE(places.size() == 2);
        // this test program runs from the build tree
        CHECK(places[0].source == "build-tree");
        CHECK(places[0].file == (fs::path(COE_TEST_BACKEND_PLUGIN_DIR).parent_path() / "share/coe/word-vectors.coewv")
                                    .lexically_normal()
                                    .string());
        CHECK(places[1].source == "user-cache");
        CHECK(places[1].file == folder / "word-vectors.coewv");
        CHECK(places[1].missing.empty());
    }
    {
        ScopedEnv data("COE_DATA_DIR", nullptr);
        ScopedEnv cache("COE_CACHE_DIR", nullptr);
        ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
        ScopedEnv home("HOME", nullptr);
        const auto places = word_vectors_search_path();
        REQUIRE(places.size() == 2);
        CHECK(places[1].source == "user-cache");
        CHECK(places[1].file.empty());
        CHECK(places[1].missing.find("none of COE_CACHE_DIR, XDG_CACHE_HOME and HOME") != std::string::npos);
    }
}
