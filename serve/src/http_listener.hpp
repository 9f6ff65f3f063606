// http_listener.hpp - accepts TCP connections and runs HTTP/1.1 on each
// (keep-alive, pipelining one request at a time), handing every complete
// request to `handle` as an Exchange.
//
// Timeouts: a connection waits `idle_timeout` for the first byte of a
// request, then the whole request must arrive within `request_timeout`
// (a client that trickles its header is cut off); each write must finish
// within `request_timeout`.  A body over `max_body_bytes` is answered 413, a
// malformed request 400, and the connection closed.
//
// Thread-safety: each connection runs on a strand of the io_context; the
// listener's members may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "exchange.hpp"

namespace coe::serve {

struct ConnectionPolicy {
    std::size_t max_body_bytes = 8u << 20;
    unsigned max_connections = 1024;
    std::chrono::milliseconds idle_timeout{30000}, request_timeout{30000};
    // Called on the connection's strand for every request read whole.
    std::function<void(std::shared_ptr<Exchange>)> handle;
};

class HttpListener {
public:
    // Binds and listens; throws coe::Error naming the address on failure.
    HttpListener(boost::asio::io_context &ioc, const boost::asio::ip::tcp::endpoint &where, ConnectionPolicy policy);
    ~HttpListener();

    std::uint16_t port() const;
    void start();
    // Stops accepting, closes connections waiting for a request, and makes
    // the others close after their current response.
    void drain();
    // Closes every connection now; exchanges still open are aborted.
    void abort_all();
    std::size_t open_connections() const;

    class State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace coe::serve
