#include "coe/internal/json_document.hpp"

#include <memory>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/stream_parser.hpp>

#include "coe/error.hpp"

namespace coe::internal {

namespace {

// Why a JSON parse failed at `at`, when the generic message is unhelpful.
std::string hint(std::string_view text, std::size_t at) {
    const std::size_t from = at > 12 ? at - 12 : 0;
    const std::string_view near = text.substr(from, at + 6 - from);
    for (std::size_t p = near.find("\\u"); p != std::string_view::npos; p = near.find("\\u", p + 1))
        if (p + 3 < near.size() && (near[p + 2] == 'd' || near[p + 2] == 'D') &&
            std::string_view("89abcdefABCDEF").find(near[p + 3]) != std::string_view::npos)
            return " (a UTF-16 surrogate escape such as \\ud800 must come in a high+low pair)";
    if (at < text.size() && static_cast<unsigned char>(text[at]) >= 0x80) return " (invalid UTF-8)";
    return "";
}

}  // namespace

namespace {

// One per thread: a monotonic arena over a first megabyte that is kept.
struct ScratchArena {
    std::unique_ptr<unsigned char[]> first{new unsigned char[1u << 20]};
    boost::json::monotonic_resource resource{first.get(), 1u << 20};
    bool in_use = false;
};

ScratchArena &scratch_arena() {
    thread_local ScratchArena arena;
    return arena;
}

}  // namespace

boost::json::storage_ptr acquire_json_scratch_arena() {
    ScratchArena &arena = scratch_arena();
    if (arena.in_use) return {};
    arena.in_use = true;
    // not owning: the arena outlives every document made from it
    return boost::json::storage_ptr(&arena.resource);
}

void release_json_scratch_arena(const boost::json::storage_ptr &storage) {
    ScratchArena &arena = scratch_arena();
    if (storage.get() != &arena.resource) return;
    arena.resource.release();
    arena.in_use = false;
}

boost::json::value parse_json(std::string_view text, const std::string &where, std::size_t line_offset) {
    return parse_json_into(text, where, line_offset, {});
}

boost::json::value parse_json_into(std::string_view text, const std::string &where, std::size_t line_offset,
                                   boost::json::storage_ptr storage) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
    boost::json::stream_parser parser(storage);                      // its temporary storage
    parser.reset(storage);                                           // the document's
    boost::json::error_code ec;
    std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) {
        // write_some stops after a complete value: anything left must be blank
        for (std::size_t i = consumed; i < text.size(); ++i)
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
                ec = boost::json::make_error_code(boost::json::error::extra_data);
                consumed = i;
                break;
            }
    }
    if (!ec) parser.finish(ec);
    if (ec) {
        std::size_t line = 1 + line_offset, column = 1;
        for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw Error(where + ":" + std::to_string(line) + ":" + std::to_string(column) +
                    ": invalid JSON: " + ec.message() + hint(text, consumed));
    }
    return parser.release();
}

}  // namespace coe::internal
