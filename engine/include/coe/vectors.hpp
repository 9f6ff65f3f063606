// vectors.hpp - value types for feature vectors and similarity matrices.
#pragma once

#include <cstdint>
#include <vector>

namespace coe {

// Rows of a sparse matrix in CSR form: row i is entries
// [row_offsets[i], row_offsets[i+1]) of indices/values, indices strictly
// increasing and < dimension.  Owns its storage.
struct SparseRows {
    std::uint32_t dimension = 0;
    std::vector<std::uint64_t> row_offsets{0};
    std::vector<std::uint32_t> indices;
    std::vector<float> values;

    std::size_t rows() const { return row_offsets.size() - 1; }
};

// A dense row-major matrix of floats.  Owns its storage.
struct Matrix {
    std::uint32_t rows = 0, cols = 0;
    std::vector<float> data;

    float operator()(std::uint32_t r, std::uint32_t c) const { return data[static_cast<std::size_t>(r) * cols + c]; }
};

// One dense vector per text from pretrained word vectors (coe.embed_words/1,
// coe/ops/embed_words.h): row i is vectors[i * dims, (i + 1) * dims), of unit
// L2 norm, or all zero when text i holds no word of the table with a weight
// above 0; known_words[i] counts the tokens of text i found in the table.
// Bit-identical whichever backend computed it.  Owns its storage.
struct WordEmbeddings {
    std::uint32_t dims = 0;
    std::vector<float> vectors;  // rows of dims
    std::vector<std::uint32_t> known_words;
};

// How texts become feature vectors (see coe.featurize/1 in coe_plugin.h).
struct FeaturizeOptions {
    std::uint32_t bucket_bits = 18;  // 2^18 hashed buckets
    bool bigrams = true;
    bool stop_words = true;
    bool stem = true;
    bool sublinear_tf = true;
    bool idf = true;
    bool l2_normalize = true;
};

}  // namespace coe
