// clean_text.hpp - the cleanup that turns a markdown item's raw text into the
// text a report shows and the analysis compares.
//
// append_clean_text(raw, out) appends `raw` to `out` without backticks and
// without the emphasis markers `**` and `__` (a lone `*` or `_` stays), with
// every run of whitespace (space, tab, CR, LF, FF, VT) made one space and
// the ends trimmed: no space is written before the first byte kept or after
// the last one.  Bytes are copied as they are (UTF-8 passes through; no byte
// of a multi-byte sequence is special).  Appends only; never throws except
// std::bad_alloc from growing `out`.  Pure function, safe on any thread.
#pragma once

#include <string>
#include <string_view>

namespace coe::detail {

void append_clean_text(std::string_view raw, std::string &out);

}  // namespace coe::detail
