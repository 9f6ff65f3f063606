// embedding_cache.hpp - embeddings by (model, text): in memory for the
// process, and in <cache folder>/embeddings-2.bin between runs, so that
// analysing recorded panels again costs no request.  At most 64 MiB of
// vectors; the oldest go first.
//
// The file is shared by every process of the user: each store() takes its
// lock, merges what other processes wrote since, and replaces it whole and
// atomically (coe/internal/cache_file.hpp); every record carries a checksum,
// and a record that fails it ends the reading (it and what follows are
// dropped), so a damaged file never yields a wrong vector.
// Thread-safe.
#pragma once

#include <filesystem>
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

    // Checks a cache file as load() reads it: "" when every record is whole
    // and matches its checksum (or the file is absent), else the problem.
    static std::string check_file(const std::filesystem::path &file);

    class Impl;

private:
    EmbeddingCache();
    Impl *impl_;  // lives as long as the process
};

}  // namespace coe::consult_detail
