// no_word_vectors.hpp - the word vectors of the WebAssembly engine: none (it
// has no files), so automatic features fall back to TF-IDF and the report's
// features_note says why, as the native engine's does without its file.
#pragma once

#include "features/word_vector_tables.hpp"

namespace coe::wasm {

class NoWordVectors : public detail::WordVectorTables {
public:
    const detail::WordVectorsForCall &table(const WordVectorOptions &options) const override;
};

}  // namespace coe::wasm
