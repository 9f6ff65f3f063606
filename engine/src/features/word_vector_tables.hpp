// word_vector_tables.hpp - what the analysis asks of word vectors: the
// table weighted for a call's options, or why there is none.  The engine's
// WordVectorSource (a file found on the search path) is one; a build without
// files (WebAssembly) offers its own.
#pragma once

#include <optional>
#include <string>

#include "coe/analysis.hpp"
#include "coe/coe_plugin.h"

namespace coe::detail {

// What the pipeline needs for one panel.
struct WordVectorsForCall {
    std::optional<coe_word_table> table;  // empty: not available
    // The direction every text's sum shares (the frequency-weighted mean of
    // the vocabulary, unit length): table->dims values; computed for (and
    // set after) the first call whose centring removes it.
    const double *common_direction = nullptr;
    std::string problem;   // why not (not found, or the file's fault)
    bool invalid = false;  // the file exists but cannot be used
};

class WordVectorTables {
public:
    virtual ~WordVectorTables() = default;
    // The table weighted as `options` say, or why there is none; valid as
    // long as this object lives.  Thread-safe.
    virtual const WordVectorsForCall &table(const WordVectorOptions &options) const = 0;
};

}  // namespace coe::detail
