// import_word_vectors(): wink's JSON word vectors, read as a stream (SAX
// events from Boost.JSON's basic_parser, in 4 MiB chunks), to a word-vector
// file written atomically.  Memory holds the kept vectors as floats, then the
// table (word_table.hpp) and the file's image, never the JSON.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coe/error.hpp"
#include "coe/word_vectors.hpp"
#include "features/word_table.hpp"
#include "features/word_vectors_format.hpp"

namespace coe {

namespace {

namespace format = detail::word_vectors_format;
using detail::float_to_half;
using detail::half_to_float;

// The words coe.embed_words/1 can meet: what its tokens are made of
// (build_word_table refuses anything else).
bool can_be_token(const std::string &w) {
    if (w.size() < 2) return false;
    for (unsigned char c : w)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)) return false;
    return true;
}

std::string str(std::uint64_t n) { return std::to_string(n); }

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// Metadata fields of wink's JSON that are checked when present.
struct Field {
    const char *name;
    bool seen = false;
    std::uint64_t value = 0;
};

// The SAX handler: keeps what the file needs and throws coe::Error
// "<file>: <problem>" as soon as something is wrong.
class WinkHandler {
public:
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

    explicit WinkHandler(std::string file) : file_(std::move(file)) {}

    bool on_document_begin(boost::json::error_code &) { return true; }
    bool on_document_end(boost::json::error_code &) { return true; }
    bool on_object_begin(boost::json::error_code &) {
        open(true);
        return true;
    }
    bool on_object_end(std::size_t, boost::json::error_code &) {
        close();
        return true;
    }
    bool on_array_begin(boost::json::error_code &) {
        open(false);
        return true;
    }
    bool on_array_end(std::size_t, boost::json::error_code &) {
        close();
        return true;
    }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code &) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code &) {
        key_.append(s.data(), s.size());
        take_key();
        key_.clear();
        return true;
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code &) {
        text_.append(s.data(), s.size());
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code &) {
        text_.append(s.data(), s.size());
        if (depth_ == 2 && in_ == In::words) {
            source_words_.push_back(text_);
        } else {
            scalar("a string");
        }
        text_.clear();
        return true;
    }
    bool on_number_part(boost::json::string_view, boost::json::error_code &) { return true; }
    bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code &) {
        number(static_cast<double>(i));
        return true;
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code &) {
        number(static_cast<double>(u));
        return true;
    }
    bool on_double(double d, boost::json::string_view, boost::json::error_code &) {
        number(d);
        return true;
    }
    bool on_bool(bool, boost::json::error_code &) {
        scalar("a boolean");
        return true;
    }
    bool on_null(boost::json::error_code &) {
        scalar("null");
        return true;
    }
    bool on_comment_part(boost::json::string_view, boost::json::error_code &) { return true; }
    bool on_comment(boost::json::string_view, boost::json::error_code &) { return true; }

    // After the whole document: the checks that need all of it.  Returns the
    // kept rows in index order (the words, and their values row-major).
    void finish(WordVectorsImport &stats, std::vector<std::string> &words, std::vector<float> &values);

private:
    enum class In { top, vectors, words, skip };

    [[noreturn]] void fail(const std::string &problem) const { throw Error(file_ + ": " + problem); }
    std::string word_label() const { return "word '" + word_ + "'"; }

    void open(bool object) {
        const char *what = object ? "an object" : "an array";
        if (depth_ == 0 && !object) fail("the top level is not an object");
        if (depth_ == 1) {
            if (key_top_ == "vectors" && object) {
                in_ = In::vectors;
                saw_vectors_ = true;
            } else if (key_top_ == "words" && !object) {
                in_ = In::words;
                source_words_.clear();
                saw_words_ = true;
            } else if (key_top_ == "vectors" || key_top_ == "words" || is_field(key_top_)) {
                fail("field '" + key_top_ + "' is " + what);
            } else {
                in_ = In::skip;
            }
        } else if (depth_ == 2 && in_ == In::vectors) {
            if (object) fail(word_label() + ": the vector is an object, not an array");
            vector_.clear();
        } else if (depth_ == 2 && in_ == In::words) {
            fail("field 'words': entry " + str(source_words_.size()) + " is " + what + ", not a string");
        } else if (depth_ == 3 && in_ == In::vectors) {
            fail(word_label() + ": value " + str(vector_.size()) + " is " + what + ", not a number");
        }
        ++depth_;
    }

    void close() {
        --depth_;
        if (depth_ == 2 && in_ == In::vectors) end_vector();
        if (depth_ == 1) in_ = In::top;
    }

    void take_key() {
        if (depth_ == 1) key_top_ = key_;
        else if (depth_ == 2 && in_ == In::vectors) word_ = key_;
    }

    bool is_field(const std::string &key) const {
        return std::any_of(std::begin(fields_), std::end(fields_), [&](const Field &f) { return key == f.name; });
    }

    void scalar(const char *what) {
        if (depth_ == 0) fail("the top level is not an object");
        if (depth_ == 1 && (key_top_ == "vectors" || key_top_ == "words" || is_field(key_top_)))
            fail("field '" + key_top_ + "' is " + what);
        if (depth_ == 2 && in_ == In::vectors) fail(word_label() + ": the vector is " + what + ", not an array");
        if (depth_ == 2 && in_ == In::words)
            fail("field 'words': entry " + str(source_words_.size()) + " is " + what + ", not a string");
        if (depth_ == 3 && in_ == In::vectors)
            fail(word_label() + ": value " + str(vector_.size()) + " is " + what + ", not a number");
    }

    void number(double v) {
        if (depth_ == 3 && in_ == In::vectors) {
            vector_.push_back(v);
        } else if (depth_ == 1) {
            for (Field &f : fields_) {
                if (key_top_ != f.name) continue;
                if (!(v >= 0 && v <= UINT32_MAX && v == std::floor(v)))
                    fail("field '" + key_top_ + "' is " + number_text(v) + ", not a whole number from 0 to 2^32 - 1");
                f.seen = true;
                f.value = static_cast<std::uint64_t>(v);
                if (&f == &fields_[0]) check_dims(f.value, "field 'dimensions'");
            }
        } else {
            scalar("a number");
        }
    }

    void check_dims(std::uint64_t dims, const std::string &where) const {
        if (dims < 1 || dims > format::max_dims)
            fail(where + ": " + str(dims) + " dimensions is outside 1.." + str(format::max_dims));
    }

    // A word's vector is complete: dims values, its L2 norm, its index.
    void end_vector() {
        const std::size_t n = vector_.size();
        if (dims_ == 0) {
            if (fields_[0].seen) {
                dims_ = static_cast<std::uint32_t>(fields_[0].value);
                dims_from_ = "field 'dimensions' says " + str(dims_);
            } else {
                if (n < 3)
                    fail(word_label() + ": the vector has " + str(n) +
                         " values; expected the dimensions' values, the L2 norm and the index");
                check_dims(n - 2, word_label());
                dims_ = static_cast<std::uint32_t>(n - 2);
                dims_from_ = "the first vector ('" + word_ + "') has " + str(dims_) + " dimensions";
            }
            // wink says how many words come: room for them all at once (within reason)
            if (fields_[3].seen) values_.reserve(std::min<std::uint64_t>(fields_[3].value * dims_, 1ull << 26));
        }
        if (n != dims_ + 2ull)
            fail(word_label() + ": the vector has " + str(n) + " values, expected " + str(dims_ + 2ull) + " (" +
                 dims_from_ + ", then the L2 norm and the index): inconsistent dimensions");
        const double index = vector_[dims_ + 1];
        if (!(index >= 0 && index <= UINT32_MAX && index == std::floor(index)))
            fail(word_label() + ": index " + number_text(index) + " is not a whole number from 0 to 2^32 - 1");
        ++read_;
        const bool keep = can_be_token(word_);
        for (std::uint32_t d = 0; d < dims_; ++d) {
            const double v = vector_[d];
            // (checked before it is rounded to float, which it may not fit)
            const bool fits = std::fabs(v) < 65536.0;
            const std::uint16_t h = fits ? float_to_half(static_cast<float>(v)) : 0x7c00u;
            if ((h & 0x7c00u) == 0x7c00u)  // infinity: past 65504 once rounded, or NaN
                fail(word_label() + ": value " + str(d) + " (" + number_text(v) + ") is outside binary16's range");
            const float f = static_cast<float>(v);
            if (keep) {
                max_error_ = std::max(max_error_, std::fabs(static_cast<double>(half_to_float(h)) - v));
                values_.push_back(f);
            }
        }
        all_index_.push_back(static_cast<std::uint32_t>(index));
        all_words_ += word_;
        all_word_ends_.push_back(all_words_.size());
        if (keep) kept_.push_back(static_cast<std::uint32_t>(all_index_.size() - 1));
    }

    std::string word_at(std::size_t i) const {
        const std::size_t begin = i == 0 ? 0 : all_word_ends_[i - 1];
        return all_words_.substr(begin, all_word_ends_[i] - begin);
    }

    std::string file_;
    std::size_t depth_ = 0;  // containers open
    In in_ = In::top;
    std::string key_, key_top_, word_, text_;
    std::vector<double> vector_;  // the vector being read
    bool saw_vectors_ = false, saw_words_ = false;
    Field fields_[4] = {{"dimensions"}, {"l2NormIndex"}, {"wordIndex"}, {"size"}};
    std::uint32_t dims_ = 0;
    std::string dims_from_;  // where dims_ came from, for messages
    std::vector<std::string> source_words_;
    // every word read, in the order read: its index, its bytes
    std::vector<std::uint32_t> all_index_;
    std::string all_words_;
    std::vector<std::size_t> all_word_ends_;
    // the kept words (their place in the order read) and values, in the order read
    std::vector<std::uint32_t> kept_;
    std::vector<float> values_;
    std::uint64_t read_ = 0;
    double max_error_ = 0;
};

void WinkHandler::finish(WordVectorsImport &stats, std::vector<std::string> &words, std::vector<float> &values) {
    if (!saw_vectors_) fail("no field 'vectors'");
    if (read_ == 0) fail("field 'vectors' is empty");
    const Field &dimensions = fields_[0], &l2_norm_index = fields_[1], &word_index = fields_[2], &size = fields_[3];
    if (dimensions.seen && dimensions.value != dims_)
        fail("field 'dimensions' is " + str(dimensions.value) + ", but " + dims_from_ + ": inconsistent dimensions");
    if (l2_norm_index.seen && l2_norm_index.value != dims_)
        fail("field 'l2NormIndex' is " + str(l2_norm_index.value) + ", expected " + str(dims_) +
             " (the norm follows the values)");
    if (word_index.seen && word_index.value != dims_ + 1ull)
        fail("field 'wordIndex' is " + str(word_index.value) + ", expected " + str(dims_ + 1ull) +
             " (the index follows the norm)");
    if (size.seen && size.value != read_)
        fail("field 'size' is " + str(size.value) + ", but 'vectors' has " + str(read_) + " words");

    // Every index once; with "words", each word where its index says.
    std::vector<std::uint32_t> by_index(all_index_.size());
    std::iota(by_index.begin(), by_index.end(), 0u);
    std::sort(by_index.begin(), by_index.end(), [&](std::uint32_t a, std::uint32_t b) {
        return all_index_[a] < all_index_[b] || (all_index_[a] == all_index_[b] && a < b);
    });
    for (std::size_t i = 1; i < by_index.size(); ++i)
        if (all_index_[by_index[i]] == all_index_[by_index[i - 1]])
            fail("word '" + word_at(by_index[i]) + "': index " + str(all_index_[by_index[i]]) +
                 " is also the index of '" + word_at(by_index[i - 1]) + "'");
    if (saw_words_) {
        if (source_words_.size() != read_)
            fail("field 'words' has " + str(source_words_.size()) + " words, but 'vectors' has " + str(read_));
        for (std::size_t i = 0; i < all_index_.size(); ++i) {
            const std::uint32_t index = all_index_[i];
            const std::string w = word_at(i);
            if (index >= source_words_.size() || source_words_[index] != w)
                fail("word '" + w + "': index " + str(index) + ", but " +
                     (index >= source_words_.size() ? "'words' has no entry " + str(index)
                                                    : "words[" + str(index) + "] is '" + source_words_[index] + "'"));
        }
    }
    if (kept_.empty()) fail("no word can be a token (" + str(read_) + " read, all dropped): empty vocabulary");

    // The kept rows in index order: the source's frequency rank.
    std::vector<std::uint32_t> order(kept_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return all_index_[kept_[a]] < all_index_[kept_[b]]; });
    words.clear();
    words.reserve(kept_.size());
    for (std::uint32_t k : order) words.push_back(word_at(kept_[k]));
    if (std::is_sorted(order.begin(), order.end())) {
        values = std::move(values_);
    } else {
        values.resize(values_.size());
        for (std::size_t r = 0; r < order.size(); ++r)
            std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(order[r]) * dims_, dims_,
                        values.begin() + static_cast<std::ptrdiff_t>(r) * dims_);
        std::vector<float>().swap(values_);
    }
    stats.words_read = read_;
    stats.words_kept = kept_.size();
    stats.words_dropped = read_ - kept_.size();
    stats.dims = dims_;
    stats.max_rounding_error = max_error_;
}

// Reads `file` through the handler, 4 MiB at a time.
void parse_stream(const std::string &file, boost::json::basic_parser<WinkHandler> &parser) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(file + ": cannot open: " + std::strerror(errno));
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<char> buffer(4u << 20);
    std::uint64_t line = 1, line_start = 0, offset = 0;  // of the chunk's first byte
    try {
        for (;;) {
            const ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw Error(file + ": cannot read: " + std::strerror(errno));
            const std::size_t size = static_cast<std::size_t>(n);
            boost::json::error_code ec;
            std::size_t used = 0;
            if (!parser.done()) used = parser.write_some(size > 0, buffer.data(), size, ec);
            if (!ec && parser.done())
                for (std::size_t i = used; i < size; ++i)
                    if (!std::strchr(" \t\r\n", buffer[i])) {
                        ec = boost::json::error::extra_data;
                        used = i;
                        break;
                    }
            const std::size_t counted = ec ? used : size;
            for (std::size_t i = 0; i < counted; ++i)
                if (buffer[i] == '\n') {
                    ++line;
                    line_start = offset + i + 1;
                }
            if (ec)
                throw Error(file + ":" + str(line) + ":" + str(offset + used - line_start + 1) +
                            ": invalid JSON: " + ec.message());
            offset += size;
            if (size == 0) break;
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

// Writes `image` to `path` through a temporary file beside it, renamed over
// it once complete and flushed.
void write_atomically(const std::string &path, const std::vector<unsigned char> &image) {
    std::string temp = path + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) throw Error(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
    auto fail = [&](const std::string &what) {
        const int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        throw Error(path + ": " + what + ": " + std::strerror(err));
    };
    if (::fchmod(fd, 0644) != 0) fail("cannot set permissions");
    for (std::size_t at = 0; at < image.size();) {
        const ssize_t n = ::write(fd, image.data() + at, image.size() - at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("cannot write");
        at += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail("cannot flush");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        throw Error(path + ": cannot write: " + std::strerror(err));
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        throw Error(path + ": cannot replace it: " + std::strerror(err));
    }
}

template <class T>
void put(std::vector<unsigned char> &image, std::uint64_t offset, const T *data, std::size_t count) {
    if (count != 0) std::memcpy(image.data() + offset, data, count * sizeof(T));
}

}  // namespace

WordVectorsImport import_word_vectors(const std::string &json_file, const std::string &out_file) {
    WordVectorsImport stats;
    std::vector<std::string> words;
    std::vector<float> values;
    {
        boost::json::basic_parser<WinkHandler> parser(boost::json::parse_options{}, json_file);
        parse_stream(json_file, parser);
        parser.handler().finish(stats, words, values);
    }
    detail::WordTableData table;
    try {
        table = detail::build_word_table(words, values, stats.dims);
    } catch (const Error &e) {
        throw Error(json_file + ": " + e.what());
    }
    std::vector<float>().swap(values);
    std::vector<std::string>().swap(words);

    const format::Layout at = format::layout(table.word_count(), table.slot_count(), table.words.size(), table.dims);
    std::vector<unsigned char> image(at.end);
    put(image, at.slots, table.slots.data(), table.slots.size());
    put(image, at.word_offsets, table.word_offsets.data(), table.word_offsets.size());
    put(image, at.words, table.words.data(), table.words.size());
    put(image, at.values, table.values.data(), table.values.size());
    format::Header h{};
    std::memcpy(h.magic, format::magic, sizeof h.magic);
    h.version = format::version;
    h.dims = table.dims;
    h.word_count = table.word_count();
    h.slot_count = table.slot_count();
    h.value_type = format::value_type_binary16;
    h.header_size = format::header_size;
    h.words_bytes = table.words.size();
    h.payload_bytes = at.end - format::header_size;
    h.checksum = format::checksum(image.data() + format::header_size, h.payload_bytes);
    h.reserved = 0;
    std::memcpy(image.data(), &h, sizeof h);
    write_atomically(out_file, image);
    stats.bytes_written = image.size();
    return stats;
}

}  // namespace coe
