// word_vector_source.hpp - the engine's word vectors: the file it uses (found
// on the word-vector search path, or named by the caller), opened on first
// use and shared by every thread, and the per-word weights of each
// WordVectorOptions asked for, computed once each.  Thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "coe/analysis.hpp"
#include "coe/coe_plugin.h"
#include "features/word_vector_tables.hpp"
#include "features/word_vectors_file.hpp"

namespace coe::detail {

class WordVectorSource : public WordVectorTables {
public:
    // `file`: the word-vector file to use; empty: the first found on the
    // search path (coe/word_vectors.hpp) when `search` is true, else none.
    // Nothing is opened yet.
    WordVectorSource(std::filesystem::path file, bool search);
    ~WordVectorSource();
    WordVectorSource(const WordVectorSource &) = delete;
    WordVectorSource &operator=(const WordVectorSource &) = delete;

    // The table weighted as `options` say, or why there is none; valid as
    // long as this source lives.  Opens and validates the file on the first
    // call (every later call shares it); allocates only the first time it
    // meets a weighting.
    const WordVectorsForCall &table(const WordVectorOptions &options) const override;

    // The file in use, when one was opened; the milliseconds opening took.
    std::optional<std::filesystem::path> file() const;
    double open_ms() const;

private:
    void open() const;  // with mutex_ held
    using WeightKey = std::tuple<int, float, bool>;

    const std::filesystem::path configured_;
    const bool search_;
    mutable std::mutex mutex_;
    mutable bool opened_ = false;
    mutable std::optional<WordVectorsFile> file_;
    mutable WordVectorsForCall unavailable_;
    struct Weighted {
        std::vector<float> weights;
        std::vector<double> common_direction;
        WordVectorsForCall call;  // points into the two above
    };
    mutable std::map<WeightKey, Weighted> weighted_;  // nodes never move: pointers stay valid
};

// The weight of each row of `file` for `options` (WordVectorOptions).
std::vector<float> word_weights(const WordVectorsFile &file, const WordVectorOptions &options);
// The unit direction of sum over rows of p(row) * weight(row) * vector(row),
// p(row) the row's Zipf frequency: what the sums of ordinary texts share.
std::vector<double> common_direction(const WordVectorsFile &file, const std::vector<float> &weights);

}  // namespace coe::detail
