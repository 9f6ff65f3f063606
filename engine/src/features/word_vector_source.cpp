#include "features/word_vector_source.hpp"

#include <cmath>

#include "coe/error.hpp"
#include "coe/word_vectors.hpp"
#include "features/word_table.hpp"
#include "features/word_vectors_file.hpp"
#include "stop_words.hpp"

namespace coe::detail {

WordVectorSource::WordVectorSource(std::filesystem::path file, bool search)
    : configured_(std::move(file)), search_(search) {}
WordVectorSource::~WordVectorSource() = default;

void WordVectorSource::open() const {
    opened_ = true;
    std::filesystem::path path = configured_;
    if (path.empty() && !search_) {
        unavailable_.problem = "no word-vector file: none was named and searching is off";
        return;
    }
    if (path.empty()) {
        std::string searched;
        for (const WordVectorsPlace &place : word_vectors_search_path()) {
            if (place.missing.empty() && !place.file.empty()) {
                path = place.file;
                break;
            }
            if (!place.file.empty()) searched += (searched.empty() ? "" : ", ") + place.file;
        }
        if (path.empty()) {
            unavailable_.problem = "no word-vector file (looked for " +
                                   (searched.empty() ? std::string(word_vectors_file_name) : searched) +
                                   "; scripts/fetch-word-vectors.sh makes one)";
            return;
        }
    }
    try {
        file_.emplace(WordVectorsFile::open(path));
    } catch (const std::exception &e) {
        unavailable_.problem = std::string("word vectors unusable: ") + e.what();
        unavailable_.invalid = true;
    }
}

const WordVectorsForCall &WordVectorSource::table(const WordVectorOptions &options) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!opened_) open();
    if (!file_) return unavailable_;
    const WeightKey key{static_cast<int>(options.weighting), options.frequency_a, options.drop_stop_words};
    auto it = weighted_.find(key);
    if (it == weighted_.end()) {
        it = weighted_.emplace(key, Weighted{}).first;
        Weighted &w = it->second;
        w.weights = word_weights(*file_, options);
        w.call.table = file_->table(w.weights.data());
    }
    Weighted &w = it->second;
    // a pass over every vector of the file: only when the centring needs it
    if (options.centring == WordVectorOptions::Centring::common_direction && w.common_direction.empty()) {
        w.common_direction = common_direction(*file_, w.weights);
        w.call.common_direction = w.common_direction.data();
    }
    return w.call;
}

std::optional<std::filesystem::path> WordVectorSource::file() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!file_) return std::nullopt;
    return file_->path();
}

double WordVectorSource::open_ms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return file_ ? std::chrono::duration<double, std::milli>(file_->open_time()).count() : 0.0;
}

namespace {

// Zipf's law: the word of rank r (from 1) among n has frequency
// 1 / (r * H_n).  Computed where it is used, not stored: a table of the
// 321,251 words of the shipped file is 2.5 MB to zero and fault in.
class ZipfFrequencies {
public:
    explicit ZipfFrequencies(std::uint32_t n) {
        for (std::uint32_t r = n; r >= 1; --r) harmonic_ += 1.0 / r;
    }
    double operator()(std::uint32_t row) const { return 1.0 / ((row + 1.0) * harmonic_); }

private:
    double harmonic_ = 0;
};

}  // namespace

std::vector<float> word_weights(const WordVectorsFile &file, const WordVectorOptions &options) {
    const std::uint32_t n = file.word_count();
    std::vector<float> weights(n, 1.0f);
    if (options.weighting == WordVectorOptions::Weighting::frequency) {
        const ZipfFrequencies p(n);
        const double a = options.frequency_a;
        for (std::uint32_t row = 0; row < n; ++row) weights[row] = static_cast<float>(a / (a + p(row)));
    }
    if (options.drop_stop_words)
        for (std::uint32_t row = 0; row < n; ++row) {
            const std::string_view w = file.word(row);
            if (w.size() <= kernels::stop_word_max_length && kernels::stop_words_block_hash.contains(word_hash(w)))
                weights[row] = 0;
        }
    return weights;
}

std::vector<double> common_direction(const WordVectorsFile &file, const std::vector<float> &weights) {
    const std::uint32_t n = file.word_count(), dims = file.dims();
    const ZipfFrequencies p(n);
    std::vector<float> half(65536);  // every binary16 value widened once
    for (std::uint32_t h = 0; h < 65536; ++h) half[h] = half_to_float(static_cast<std::uint16_t>(h));
    std::vector<double> u(dims, 0.0);
    for (std::uint32_t row = 0; row < n; ++row) {
        const double f = p(row) * weights[row];
        const std::uint16_t *v = file.values(row);
        for (std::uint32_t d = 0; d < dims; ++d) u[d] += f * half[v[d]];
    }
    double norm = 0;
    for (double x : u) norm += x * x;
    norm = std::sqrt(norm);
    for (double &x : u) x = norm > 0 ? x / norm : 0.0;
    return u;
}

}  // namespace coe::detail
