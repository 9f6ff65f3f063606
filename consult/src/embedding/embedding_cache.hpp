// embedding_cache.hpp - embeddings by (model, text): in memory for the
// process, and in <cache folder>/embeddings-1.bin between runs, so that
// analysing recorded panels again costs no request.  At most 64 MiB of
// vectors; the oldest go first.  Thread-safe.
#pragma once

#include <string>
#include <vector>

namespace coe::consult_detail {

class EmbeddingCache {
public:
    static EmbeddingCache &instance();
    bool find(const std::string &model, const std::string &text, std::vector<float> &out);
    // Adds the vectors and writes the file once.
    void store(const std::string &model, const std::vector<std::string> &texts,
               const std::vector<std::vector<float>> &vectors);

    class Impl;

private:
    EmbeddingCache();
    Impl *impl_;  // lives as long as the process
};

}  // namespace coe::consult_detail
