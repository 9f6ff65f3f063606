// json_document.hpp - parses JSON text with errors that name line and column.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace coe::internal {

// Parses one JSON document.  On failure throws coe::Error
// "<where>:<line>:<column>: invalid JSON: <what>", where line and column are
// counted from 1 within `text` (line_offset is added to the line).
boost::json::value parse_json(std::string_view text, const std::string &where, std::size_t line_offset = 0);

// The same, the document's values taken from an arena this thread keeps and
// reuses for each call: `read` sees the document, which is gone when it
// returns (read it into values of your own).  For documents read once and
// dropped, such as the panels of a JSON Lines file; the same errors.
template <class Read>
auto read_json(std::string_view text, const std::string &where, std::size_t line_offset, Read &&read);

// The arena of read_json (implementation detail): released after each use,
// its first megabyte kept.  A read_json inside another one's `read` gets the
// default storage instead of the arena in use.
boost::json::storage_ptr acquire_json_scratch_arena();
void release_json_scratch_arena(const boost::json::storage_ptr &storage);
boost::json::value parse_json_into(std::string_view text, const std::string &where, std::size_t line_offset,
                                   boost::json::storage_ptr storage);

template <class Read>
auto read_json(std::string_view text, const std::string &where, std::size_t line_offset, Read &&read) {
    struct Arena {
        boost::json::storage_ptr storage = acquire_json_scratch_arena();
        ~Arena() { release_json_scratch_arena(storage); }
    } arena;
    const boost::json::value doc = parse_json_into(text, where, line_offset, arena.storage);
    return read(doc);
}

}  // namespace coe::internal
