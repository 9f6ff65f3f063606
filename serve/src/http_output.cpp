#include "http_output.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/write.hpp>

namespace coe::serve {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// "HTTP/1.1 200 OK\r\n", each "Name: value\r\n", then "\r\n".
template <class Fields>
std::size_t header_size(const http::header<false, Fields> &h) {
    std::size_t n = 13 + h.reason().size() + 2;
    for (const auto &f : h) n += f.name_string().size() + 2 + f.value().size() + 2;
    return n + 2;
}

// "<size in hex>\r\n<piece>\r\n"
std::size_t chunk_size(std::size_t piece) {
    std::size_t digits = 1;
    for (std::size_t n = piece; n >= 16; n /= 16) ++digits;
    return digits + 2 + piece + 2;
}

}  // namespace

Output Output::whole(http::response<http::string_body> response) {
    Output o(Kind::whole);
    o.size_ = header_size(response.base()) + response.body().size();
    o.whole_ = std::make_unique<http::response<http::string_body>>(std::move(response));
    return o;
}

Output Output::stream_header(http::response<http::empty_body> response) {
    Output o(Kind::stream_header);
    o.size_ = header_size(response.base());
    o.header_ = std::make_unique<Header>(std::move(response));
    return o;
}

Output Output::chunk(std::string piece) {
    Output o(Kind::chunk);
    o.size_ = chunk_size(piece.size());
    o.piece_ = std::make_unique<std::string>(std::move(piece));
    return o;
}

Output Output::last_chunk() {
    Output o(Kind::last_chunk);
    o.size_ = 5;  // the size line of 0, then the empty line that ends the body
    return o;
}

void Output::async_write(beast::tcp_stream &stream, Written written) {
    auto done = [written = std::move(written)](beast::error_code ec, std::size_t) { written(ec); };
    switch (kind_) {
    case Kind::whole: return http::async_write(stream, *whole_, std::move(done));
    case Kind::stream_header: return http::async_write_header(stream, header_->serializer, std::move(done));
    case Kind::chunk: return net::async_write(stream, http::make_chunk(net::buffer(*piece_)), std::move(done));
    case Kind::last_chunk: return net::async_write(stream, http::make_chunk_last(), std::move(done));
    }
}

}  // namespace coe::serve
