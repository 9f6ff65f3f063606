// http_output.hpp - one thing a connection writes, written with Beast's own
// serializers: a whole response (http::async_write), the header of a chunked
// response (http::async_write_header), one chunk of its body
// (http::make_chunk) or its end (http::make_chunk_last).
//
// Ownership: an Output owns what its write reads (message, serializer,
// bytes) at a fixed address; it must live until its write completes.
// Thread-safety: none; one Output is used by one connection's strand.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace coe::serve {

namespace http = boost::beast::http;

class Output {
public:
    using Written = std::function<void(boost::beast::error_code)>;

    // A response with its body (payload prepared).
    static Output whole(http::response<http::string_body> response);
    // The header of a response whose body follows in chunks (chunked(true)).
    static Output stream_header(http::response<http::empty_body> response);
    // One piece of a chunked body; `piece` must not be empty (an empty chunk ends the body).
    static Output chunk(std::string piece);
    // The end of a chunked body.
    static Output last_chunk();

    // The bytes it puts on the wire, HTTP framing included (header lines counted as written).
    std::size_t size() const { return size_; }
    // The last write of its response: a whole one, or the last chunk.
    bool ends_response() const { return kind_ == Kind::whole || kind_ == Kind::last_chunk; }
    // Starts the write on `stream`; `written` runs on the stream's executor.
    void async_write(boost::beast::tcp_stream &stream, Written written);

private:
    enum class Kind { whole, stream_header, chunk, last_chunk };
    // The serializer refers to its message: both live together.
    struct Header {
        explicit Header(http::response<http::empty_body> r) : response(std::move(r)), serializer(response) {}
        http::response<http::empty_body> response;
        http::response_serializer<http::empty_body> serializer;
    };

    explicit Output(Kind kind) : kind_(kind) {}

    Kind kind_;
    std::size_t size_ = 0;
    std::unique_ptr<http::response<http::string_body>> whole_;
    std::unique_ptr<Header> header_;
    std::unique_ptr<std::string> piece_;
};

}  // namespace coe::serve
