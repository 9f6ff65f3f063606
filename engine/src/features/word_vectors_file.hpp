// word_vectors_file.hpp - a word-vector file (docs/word-vectors.md) mapped
// read-only and validated whole before use, and where the engine looks for
// one.  The mapping is MAP_SHARED: every process that opens the file shares
// its pages.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "coe/coe_plugin.h"

namespace coe::detail {

class WordVectorsFile {
public:
    // Maps `path` and validates it: size, magic, version, header size, value
    // type, dims in 1..4096, slot_count a power of two above word_count,
    // section bounds, payload_bytes == file size - 64, the checksum, every
    // slot's row <= word_count (and a free slot), word offsets from 0,
    // non-decreasing, ending at words_bytes.  Throws coe::Error
    // "<path>: <problem>" naming the first problem found.
    static WordVectorsFile open(const std::filesystem::path &path);

    WordVectorsFile(WordVectorsFile &&other) noexcept;
    WordVectorsFile &operator=(WordVectorsFile &&other) noexcept;
    WordVectorsFile(const WordVectorsFile &) = delete;
    WordVectorsFile &operator=(const WordVectorsFile &) = delete;
    ~WordVectorsFile();  // unmaps: tables handed out dangle from then on

    std::uint32_t dims() const { return dims_; }
    std::uint32_t word_count() const { return word_count_; }
    std::uint32_t slot_count() const { return slot_count_; }
    std::uint64_t size_bytes() const { return size_; }
    std::uint64_t checksum() const { return checksum_; }
    const std::filesystem::path &path() const { return path_; }
    // Mapping and validating the file took this long.
    std::chrono::nanoseconds open_time() const { return open_time_; }

    // The word of `row` (< word_count()), in the mapped file.
    std::string_view word(std::uint32_t row) const;
    // A row's binary16 values: dims() of them, in the mapped file.
    const std::uint16_t *values(std::uint32_t row) const { return values_ + static_cast<std::size_t>(row) * dims_; }

    // The table coe.embed_words/1 reads, pointing into the mapping (nothing
    // is copied), with the caller's `weights` (word_count() of them, which
    // must outlive the table's use); its values_id is the file's checksum.
    // Valid while this object lives.
    coe_word_table table(const float *weights) const;

private:
    WordVectorsFile() = default;
    void unmap() noexcept;

    std::filesystem::path path_;
    const unsigned char *base_ = nullptr;
    std::uint64_t size_ = 0;
    std::uint32_t dims_ = 0, word_count_ = 0, slot_count_ = 0;
    std::uint64_t checksum_ = 0;
    const std::uint32_t *slots_ = nullptr;
    const std::uint32_t *word_offsets_ = nullptr;
    const char *words_ = nullptr;
    const std::uint16_t *values_ = nullptr;
    std::chrono::nanoseconds open_time_{0};
};

}  // namespace coe::detail
