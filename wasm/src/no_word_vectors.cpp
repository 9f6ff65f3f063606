#include "no_word_vectors.hpp"

namespace coe::wasm {

const detail::WordVectorsForCall &NoWordVectors::table(const WordVectorOptions &) const {
    static const detail::WordVectorsForCall none{
        std::nullopt, nullptr, "no word vectors in the WebAssembly engine (it reads no files)", false};
    return none;
}

}  // namespace coe::wasm
