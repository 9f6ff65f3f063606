// coe.featurize/2 against the words of its header (sdk/include/coe/ops/
// featurize.h): tokens, folding, stop words, stemming, the block hash, the
// buckets of unigrams and bigrams and the weights, written here a byte at a
// time from the specification (the weights in the fixed double-precision
// order of plugins/kernels/tfidf_rows.hpp), on random, adversarial and MT-Bench texts.  The kernel is
// compiled here without vector flags, through both of its paths (the scalar
// byte loop and the batched one the vector backends take); the differential
// tests hold every backend to the scalar one.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

#include "featurize_kernel.hpp"
#include "test_support.hpp"

namespace k = coe::kernels;

namespace {

bool token_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool ends_with(const std::string &s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "at most one of the suffixes -ies/-ied, -ing, -ed, -es, -s (not
// -ss/-us/-is), then one final -e or -y, never going below three letters"
std::string stem(std::string t) {
    for (std::string_view suffix : {"ies", "ied", "ing", "ed", "es", "s"}) {
        if (!ends_with(t, suffix) || t.size() - suffix.size() < 3) continue;
        if (suffix == "s" && (ends_with(t, "ss") || ends_with(t, "us") || ends_with(t, "is"))) break;
        t.resize(t.size() - suffix.size());
        break;
    }
    if (t.size() > 3 && (t.back() == 'e' || t.back() == 'y')) t.pop_back();
    return t;
}

std::uint64_t header_hash(const std::string &t) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (t.size() * 0xC2B2AE3D27D4EB4Full);
    for (std::size_t o = 0; o < t.size(); o += 8) {
        std::uint64_t w = 0;
        for (std::size_t b = 0; b < 8 && o + b < t.size(); ++b)
            w |= static_cast<std::uint64_t>(static_cast<unsigned char>(t[o + b])) << (8 * b);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h;
}

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

bool is_stop_word(const std::string &t) {
    static const std::set<std::string_view> list(std::begin(k::stop_word_list), std::end(k::stop_word_list));
    return list.count(t) != 0;
}

// The hashes of a text's kept tokens, in order.
std::vector<std::uint64_t> header_token_hashes(std::string_view text, bool stop_words, bool stemming) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < text.size();) {
        std::string t;
        bool ascii = true;
        for (; i < text.size() && token_byte(static_cast<unsigned char>(text[i])); ++i) {
            auto c = static_cast<unsigned char>(text[i]);
            ascii = ascii && c < 0x80;
            t += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        if (t.empty()) {
            ++i;
            continue;
        }
        if (t.size() < 2 || (stop_words && is_stop_word(t))) continue;
        out.push_back(header_hash(stemming && ascii ? stem(t) : t));
    }
    return out;
}

// bucket -> count of one text (unigrams, and bigrams when asked)
using Row = std::map<std::uint32_t, float>;

Row header_row(std::string_view text, unsigned bits, std::uint32_t flags) {
    const auto h = header_token_hashes(text, flags & COE_FEATURIZE_STOP_WORDS, flags & COE_FEATURIZE_STEM);
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    Row row;
    for (std::size_t i = 0; i < h.size(); ++i) {
        row[static_cast<std::uint32_t>(mix(h[i]) & mask)] += 1.f;
        if ((flags & COE_FEATURIZE_BIGRAMS) && i > 0)
            row[static_cast<std::uint32_t>(mix(h[i - 1] * 0x9E3779B97F4A7C15ull + h[i]) & mask)] += 1.f;
    }
    return row;
}

// The kernel's rows as bucket -> value maps, one per text.
template <bool Vector>
std::vector<Row> kernel_rows(const std::vector<std::string> &texts, unsigned bits, std::uint32_t flags) {
    const coe::SparseRows r = coe::test::featurize_rows(
        texts, flags, bits, [](coe_featurize_args &a) { REQUIRE(k::featurize<2, Vector>(a) == COE_OK); });
    std::vector<Row> rows(texts.size());
    for (std::size_t t = 0; t < texts.size(); ++t)
        for (std::uint64_t e = r.row_offsets[t]; e < r.row_offsets[t + 1]; ++e) {
            if (e > r.row_offsets[t]) REQUIRE(r.indices[e] > r.indices[e - 1]);
            rows[t][r.indices[e]] = r.values[e];
        }
    return rows;
}

// The weights of the header from the counts: tf (or 1 + ln tf) times
// ln((1 + n) / (1 + df)) + 1, each row scaled to unit norm; in double, each
// row's sum of squares in increasing bucket order, one rounding to float.
std::vector<Row> header_weights(std::vector<Row> rows, std::uint32_t flags) {
    std::map<std::uint32_t, double> df;
    for (const Row &r : rows)
        for (const auto &[bucket, count] : r) df[bucket] += 1.0;
    const double n = static_cast<double>(rows.size());
    for (Row &r : rows) {
        std::map<std::uint32_t, double> w;
        double sum_sq = 0.0;
        for (const auto &[bucket, count] : r) {
            double tf = count;
            if (flags & COE_FEATURIZE_SUBLINEAR_TF) tf = 1.0 + std::log(tf);
            const double idf = (flags & COE_FEATURIZE_IDF) ? std::log((1.0 + n) / (1.0 + df[bucket])) + 1.0 : 1.0;
            w[bucket] = tf * idf;
            sum_sq += w[bucket] * w[bucket];
        }
        const double scale = ((flags & COE_FEATURIZE_L2_NORMALIZE) && sum_sq > 0.0) ? 1.0 / std::sqrt(sum_sq) : 1.0;
        for (auto &[bucket, value] : r) value = static_cast<float>(w[bucket] * scale);
    }
    return rows;
}

void require_header_rows(const std::vector<std::string> &texts) {
    constexpr std::uint32_t tokens = COE_FEATURIZE_BIGRAMS | COE_FEATURIZE_STOP_WORDS | COE_FEATURIZE_STEM,
                            weights = COE_FEATURIZE_SUBLINEAR_TF | COE_FEATURIZE_IDF | COE_FEATURIZE_L2_NORMALIZE;
    for (unsigned bits : {4u, 18u, 24u})
        for (std::uint32_t flags : {0u, COE_FEATURIZE_BIGRAMS, tokens, COE_FEATURIZE_STOP_WORDS, COE_FEATURIZE_STEM,
                                    tokens | weights, COE_FEATURIZE_IDF, COE_FEATURIZE_SUBLINEAR_TF}) {
            CAPTURE(bits);
            CAPTURE(flags);
            const auto plain = kernel_rows<false>(texts, bits, flags), batched = kernel_rows<true>(texts, bits, flags);
            std::vector<Row> want;
            for (const auto &text : texts) want.push_back(header_row(text, bits, flags));
            want = header_weights(std::move(want), flags);
            for (std::size_t t = 0; t < texts.size(); ++t) {
                CAPTURE(t);
                CHECK(plain[t] == want[t]);  // float ==: the same bits (no NaN, no -0 can arise)
                CHECK(batched[t] == want[t]);
            }
        }
}

std::string random_text(std::mt19937 &rng) {
    static const char *words[] = {"The",
                                  "and",
                                  "of",
                                  "a",
                                  "I",
                                  "retries",
                                  "retried",
                                  "retrying",
                                  "retry",
                                  "charges",
                                  "charged",
                                  "failures",
                                  "failure",
                                  "flies",
                                  "bring",
                                  "glass",
                                  "status",
                                  "analysis",
                                  "bus",
                                  "cookies",
                                  "played",
                                  "goes",
                                  "ties",
                                  "eyes",
                                  "Supercalifragilistic",
                                  "internationalization",
                                  "abcdefgh",
                                  "abcdefghi",
                                  "abcdefghijklmnop",
                                  "abcdefghijklmnopq",
                                  "caf\xc3\xa9s",
                                  "na\xc3\xafve",
                                  "\xe6\x97\xa5\xe6\x9c\xac",
                                  "42",
                                  "1st",
                                  "x",
                                  "ZZ",
                                  "isn",
                                  "don",
                                  "t",
                                  "MODELS",
                                  "Yes",
                                  "were",
                                  "themselves",
                                  "being",
                                  "should",
                                  "USING",
                                  "used",
                                  "uses"};
    static const char *seps[] = {" ", "  ", ", ", ". ", "\n", "\t", "!", " - ", "**", "(", ") ", "'", "\xc2\xa0"};
    std::string t;
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 200)(rng);
    for (std::size_t i = 0; i < n; ++i) {
        t += words[rng() % (sizeof words / sizeof *words)];
        if (rng() % 5 != 0) t += seps[rng() % (sizeof seps / sizeof *seps)];
    }
    return t;
}

}  // namespace

TEST_CASE("featurize/2 follows its header on random texts") {
    std::mt19937 rng(41);
    for (int round = 0; round < 30; ++round) {
        std::vector<std::string> texts(1 + rng() % 12);
        for (auto &t : texts) t = random_text(rng);
        require_header_rows(texts);
    }
}

TEST_CASE("featurize/2 follows its header on random bytes") {
    std::mt19937 rng(43);
    for (int round = 0; round < 20; ++round) {
        std::vector<std::string> texts(1 + rng() % 6);
        for (auto &t : texts) {
            t.resize(rng() % 3000);
            for (auto &c : t) c = static_cast<char>(rng() % 4 == 0 ? ' ' : rng());
        }
        require_header_rows(texts);
    }
}

TEST_CASE("featurize/2 follows its header on adversarial texts") {
    std::string mib;
    while (mib.size() < (1u << 20)) mib += "Retrying the consensus of 42 experts: cafés, naïve models; ";
    std::string all_stop;
    for (std::string_view w : k::stop_word_list) (all_stop += w) += ' ';
    std::string repeated;
    for (int i = 0; i < 50000; ++i) repeated += "tokens ";
    require_header_rows(
        {"", "a", "ab", "\xff\xfe", std::string(5000, 'x'), std::string(100, ' '), all_stop, repeated, mib});
}

TEST_CASE("featurize/2 follows its header on the MT-Bench answers") {
    const auto panels = coe::test::mtbench_panel_texts();
    REQUIRE(panels.size() == 80);
    for (std::size_t p = 0; p < panels.size(); p += 9) require_header_rows(panels[p]);
}

TEST_CASE("the radix sort orders by the high bits and keeps equal keys in order") {
    std::mt19937_64 random(7);
    for (unsigned bits = 1; bits <= 32; ++bits) {
        for (std::size_t size : {0, 1, 2, 17, 3000}) {
            // 0: random; 1: the high digits shared, the low one random; 2: one
            // value (every pass would move nothing)
            for (int shape : {0, 1, 2}) {
                k::scratch_vector<std::uint64_t> keys(size), scratch;
                const std::uint64_t limit = std::uint64_t{1} << bits;
                for (std::size_t i = 0; i < size; ++i) {
                    std::uint64_t high = random() % limit;
                    if (shape == 1) high = (limit >> 1) | (random() % std::min<std::uint64_t>(limit >> 1, 64));
                    if (shape == 2) high = limit - 1;
                    keys[i] = high << 32 | i;  // the position tells stability
                }
                std::vector<std::uint64_t> expected(keys.begin(), keys.end());
                std::stable_sort(expected.begin(), expected.end(),
                                 [](std::uint64_t a, std::uint64_t b) { return (a >> 32) < (b >> 32); });
                k::radix_sort_high32(keys, scratch, bits);
                REQUIRE(std::vector<std::uint64_t>(keys.begin(), keys.end()) == expected);
            }
        }
    }
}

#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
namespace {

long minor_faults() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
}

}  // namespace

TEST_CASE("large scratch blocks come with their pages present and their contents unchanged") {
    // contents: a written block, at an unaligned start and length
    std::vector<unsigned char> written(std::size_t{3} << 20);
    for (std::size_t i = 0; i < written.size(); ++i) written[i] = static_cast<unsigned char>(i * 131 + 7);
    const std::vector<unsigned char> copy = written;
    k::prefault_pages(written.data() + 1, written.size() - 3);
    CHECK(written == copy);

    const long page = sysconf(_SC_PAGESIZE);
    void *probe =
        mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(probe != MAP_FAILED);
    const bool supported = madvise(probe, static_cast<std::size_t>(page), MADV_POPULATE_WRITE) == 0;
    munmap(probe, static_cast<std::size_t>(page));
    if (!supported) {
        MESSAGE("this kernel has no MADV_POPULATE_WRITE (Linux >= 5.14): the faults are not checked");
        return;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    MESSAGE("a sanitizer's shadow memory faults in on its own: the faults are not checked");
    return;
#endif
    // a new block of scratch: written through without a fault a page
    const std::size_t count = std::size_t{8} << 20;  // 32 MiB of uint32: a fresh mapping
    k::scratch_vector<std::uint32_t> scratch;
    scratch.resize(count);
    const long before = minor_faults();
    for (std::size_t i = 0; i < count; ++i) scratch[i] = static_cast<std::uint32_t>(i);
    const long faults = minor_faults() - before;
    CHECK_MESSAGE(faults < 64, faults << " faults writing " << count * 4 / page << " pages");
    CHECK(scratch[count - 1] == count - 1);
}
#else
TEST_CASE("large scratch blocks come with their pages present" * doctest::skip()) {}
#endif
