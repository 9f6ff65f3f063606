// panel_reader.hpp - the fast way in for panels: reads a panel's JSON text
// straight into a Panel, with no JSON document in between.
//
// Boost.JSON builds a document first and reads a string with escapes one
// byte at a time after its first escape; markdown answers are full of "\n",
// so that was most of the time of reading a panel.  This reader scans
// strings 16 bytes at a time (SSE2, else one byte at a time) and writes
// each field where the Panel keeps it.
//
// It only takes what it can read exactly as the document reader
// (panel_json.cpp) does: valid JSON (RFC 8259, strict UTF-8, no comments),
// the panel's fields with the types that reader accepts, numbers it can
// convert the way Boost.JSON does (up to 19 significant digits, decimal
// exponents within +-22; other forms go to the document reader), no
// repeated known field, nesting within Boost.JSON's limit.  For anything else
// it returns false and the caller reads the text with the document reader,
// which also words any error; so both ways give the same panel or the same
// message.  validate() is the caller's, as for the document reader.
//
// Thread-safe (its scratch memory is per thread).  Throws only
// std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "coe/panel.hpp"

namespace coe::detail {

// Reads the panel of `json` (one JSON text; a UTF-8 byte order mark and
// surrounding whitespace allowed) into `panel`, which must be empty.  False
// when the text is not one the reader takes (see above): `panel` is then in
// an unspecified state.
bool read_panel_directly(std::string_view json, Panel &panel);

// The panel of `json` when it is read directly and passes validate();
// nothing when the document reader must read it (also to word what is wrong).
std::optional<Panel> read_valid_panel_directly(std::string_view json);

// The document reader alone (panel_json.cpp), which parse_panel falls back
// to: what read_panel_directly must agree with.  Throws coe::Error as
// parse_panel does.
Panel parse_panel_with_document(std::string_view json, const std::string &where);

}  // namespace coe::detail
